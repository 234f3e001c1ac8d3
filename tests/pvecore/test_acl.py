"""ACL evaluation against the official pve-access-control fixtures (src/test/test*.cfg with the
expectations of perm-test*.pl), rewritten as Python models, plus FACTS.md 11.4-11.5a rules."""

from typing import Any

import pytest

from pvecore.acl import AccessModel, AclEntry, Pool, Token
from pvecore.privileges import BUILTIN_ROLES, PRIVILEGES

STORAGE_MANAGER = frozenset({"Datastore.AllocateSpace", "Datastore.Audit"})
CUSTOMER = frozenset({"VM.Audit", "VM.PowerMgmt"})
VM_ADMIN = frozenset({"VM.Audit", "VM.Allocate", "Permissions.Modify", "VM.Console"})

# test1.cfg: three groups, three custom roles, user-over-group and NoAccess cases.
TEST1_GROUPS = {
    "testgroup1": frozenset({"joe@pve", "max@pve", "sue@pve"}),
    "testgroup2": frozenset({"alex@pve", "carol@pam", "sue@pve"}),
    "testgroup3": frozenset({"max@pve"}),
}
TEST1_ROLES = {"storage_manager": STORAGE_MANAGER, "customer": CUSTOMER, "vm_admin": VM_ADMIN}
TEST1_ACL = [
    AclEntry("/vms", "vm_admin", group="testgroup1"),
    AclEntry("/vms/100/", "customer", user="alex@pve"),
    AclEntry("/vms/100/", "customer", user="max@pve"),
    AclEntry("/storage/nfs1", "storage_manager", group="testgroup2"),
    AclEntry("/users", "Administrator", user="max@pve"),
    AclEntry("/vms/200", "storage_manager", group="testgroup3"),
    AclEntry("/vms/200", "NoAccess", group="testgroup2"),
    AclEntry("/vms/300", "PVEVMAdmin", user="alex@pve"),
    AclEntry("/vms/400", "Administrator", user="alex@pve"),
]
TEST1 = AccessModel(acl=TEST1_ACL, groups=TEST1_GROUPS, custom_roles=TEST1_ROLES)


@pytest.mark.parametrize(
    ("principal", "path", "expected"),
    [
        ("max@pve", "/", ""),
        ("max@pve", "/vms", "vm_admin"),
        ("max@pve", "/vms/100", "customer"),  # user beats group
        ("max@pve", "/vms/101", "vm_admin"),
        ("max@pve", "/vms/200", "storage_manager"),
        ("joe@pve", "/vms/200", "vm_admin"),
        ("sue@pve", "/vms/200", "NoAccess"),
    ],
)
def test_perm_test1_roles(principal: str, path: str, expected: str) -> None:
    assert ",".join(sorted(TEST1.roles_at(principal, path))) == expected


@pytest.mark.parametrize(
    ("principal", "path", "expected"),
    [
        ("max@pve", "/", ""),
        ("max@pve", "/vms", "Permissions.Modify,VM.Allocate,VM.Audit,VM.Console"),
        ("max@pve", "/vms/100", "VM.Audit,VM.PowerMgmt"),
        ("alex@pve", "/vms", ""),
        ("alex@pve", "/vms/100", "VM.Audit,VM.PowerMgmt"),
        (
            "alex@pve",
            "/vms/300",
            "VM.Allocate,VM.Audit,VM.Backup,VM.Clone,VM.Config.CDROM,VM.Config.CPU,"
            "VM.Config.Cloudinit,VM.Config.Disk,VM.Config.HWType,VM.Config.Memory,"
            "VM.Config.Network,VM.Config.Options,VM.Console,VM.GuestAgent.Audit,"
            "VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,"
            "VM.GuestAgent.Unrestricted,VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,"
            "VM.Snapshot.Rollback",
        ),
        ("alex@pve", "/vms/400", ",".join(PRIVILEGES)),
    ],
)
def test_perm_test1_privileges(principal: str, path: str, expected: str) -> None:
    # Twice: the second answer comes from the memo and must not differ.
    assert ",".join(sorted(TEST1.privileges_at(principal, path))) == expected
    assert ",".join(sorted(TEST1.privileges_at(principal, path))) == expected


def test_perm_test1_administrator_has_all_47() -> None:
    assert len(TEST1.privileges_at("alex@pve", "/vms/400")) == 47


# test3.cfg: a deeper group grant replaces the inherited one.
TEST3 = AccessModel(
    acl=[
        AclEntry("/vms", "Role1", group="GroupA"),
        AclEntry("/vms/200", "Role2", group="GroupB"),
    ],
    groups={"GroupA": frozenset({"User1@pve"}), "GroupB": frozenset({"User1@pve"})},
    custom_roles={"Role1": frozenset({"VM.PowerMgmt"}), "Role2": frozenset({"VM.Console"})},
)


@pytest.mark.parametrize(
    ("principal", "path", "expected"),
    [
        ("User1@pve", "", ""),
        ("User2@pve", "", ""),
        ("User1@pve", "/vms/300", "Role1"),
        ("User1@pve", "/vms/200", "Role2"),
    ],
)
def test_perm_test3_roles(principal: str, path: str, expected: str) -> None:
    assert ",".join(sorted(TEST3.roles_at(principal, path))) == expected


# test4.cfg: a user NoAccess entry beats the group grant on the same path.
TEST4 = AccessModel(
    acl=[AclEntry("/vms", "Role1", group="GroupA"), AclEntry("/vms", "NoAccess", user="User2@pve")],
    groups={
        "GroupA": frozenset({"User1@pve", "User2@pve"}),
        "GroupB": frozenset({"User1@pve", "User2@pve"}),
    },
    custom_roles={"Role1": frozenset({"VM.PowerMgmt"}), "Role2": frozenset({"VM.Console"})},
)


@pytest.mark.parametrize(
    ("principal", "expected"), [("User1@pve", "Role1"), ("User2@pve", "NoAccess")]
)
def test_perm_test4_roles(principal: str, expected: str) -> None:
    assert ",".join(sorted(TEST4.roles_at(principal, "/vms/300"))) == expected
    assert TEST4.privileges_at("User2@pve", "/vms/300") == frozenset()


# test6.cfg: pools, nested pools, NoAccess against pool grants.
TEST6 = AccessModel(
    acl=[
        AclEntry("/pool/devel", "RoleDEVEL", group="DEVEL"),
        AclEntry("/pool/marketing", "RoleMARKETING", group="MARKETING"),
        AclEntry("/pool/marketing/interns", "RoleINTERN", group="INTERNS"),
        AclEntry("/vms", "RoleTEST1", group="DEVEL"),
        AclEntry("/vms", "NoAccess", user="User3@pve"),
        AclEntry("/vms/300", "RoleTEST1", group="MARKETING"),
    ],
    groups={
        "DEVEL": frozenset({"User1@pve", "User2@pve", "User3@pve"}),
        "MARKETING": frozenset({"User1@pve", "User4@pve"}),
        "INTERNS": frozenset({"intern@pve"}),
    },
    custom_roles={
        "RoleDEVEL": frozenset({"VM.PowerMgmt"}),
        "RoleMARKETING": frozenset({"VM.Console"}),
        "RoleINTERN": frozenset({"VM.Audit"}),
        "RoleTEST1": frozenset({"VM.Console"}),
    },
    pools={
        "devel": Pool("devel", frozenset({500, 501, 502}), frozenset({"store1", "store2"})),
        "marketing": Pool("marketing", frozenset({600}), frozenset({"store1"})),
        "marketing/interns": Pool("marketing/interns", frozenset({700}), frozenset({"store3"})),
    },
)


@pytest.mark.parametrize(
    ("principal", "path", "expected"),
    [
        ("User1@pve", "", ""),
        ("User4@pve", "", ""),
        ("User1@pve", "/vms", "RoleTEST1"),
        ("User2@pve", "/vms", "RoleTEST1"),
        ("User3@pve", "/vms", "NoAccess"),
        ("User4@pve", "/vms", ""),
        ("User1@pve", "/vms/100", "RoleTEST1"),
        ("User3@pve", "/vms/100", "NoAccess"),
        ("User4@pve", "/vms/100", ""),
        ("User1@pve", "/vms/300", "RoleTEST1"),
        ("User2@pve", "/vms/300", "RoleTEST1"),
        ("User3@pve", "/vms/300", "NoAccess"),
        ("User4@pve", "/vms/300", "RoleTEST1"),
        ("User3@pve", "/vms/500", "NoAccess"),  # roles() ignores pools
        ("User4@pve", "/vms/500", ""),
        ("intern@pve", "/vms/600", ""),
        ("intern@pve", "/vms/700", ""),
        ("User4@pve", "/vms/700", ""),
        ("intern@pve", "/pool/marketing/interns", "RoleINTERN"),
        ("User4@pve", "/pool/marketing/interns", "RoleMARKETING"),
    ],
)
def test_perm_test6_roles(principal: str, path: str, expected: str) -> None:
    assert ",".join(sorted(TEST6.roles_at(principal, path))) == expected


@pytest.mark.parametrize(
    ("principal", "path", "expected"),
    [
        ("User1@pve", "/vms/500", "VM.Console,VM.PowerMgmt"),
        ("User2@pve", "/vms/500", "VM.Console,VM.PowerMgmt"),
        ("User3@pve", "/vms/500", ""),  # regular NoAccess is not overridden by the pool
        ("User4@pve", "/vms/500", ""),
        ("intern@pve", "/vms/600", ""),  # a grant on a nested pool does not reach its parent
        ("intern@pve", "/vms/700", "VM.Audit"),
        ("User4@pve", "/vms/700", "VM.Console"),  # /pool/marketing propagates to the child pool
        ("User1@pve", "/vms/600", "VM.Console"),
        ("User2@pve", "/vms/600", "VM.Console"),
        ("User3@pve", "/vms/600", ""),
        ("User4@pve", "/vms/600", "VM.Console"),
        ("User1@pve", "/storage/store1", "VM.Console,VM.PowerMgmt"),
        ("User2@pve", "/storage/store1", "VM.PowerMgmt"),
        ("User3@pve", "/storage/store1", "VM.PowerMgmt"),
        ("User4@pve", "/storage/store1", "VM.Console"),
        ("User1@pve", "/storage/store2", "VM.PowerMgmt"),
        ("User2@pve", "/storage/store2", "VM.PowerMgmt"),
        ("User3@pve", "/storage/store2", "VM.PowerMgmt"),
        ("User4@pve", "/storage/store2", ""),
    ],
)
def test_perm_test6_privileges(principal: str, path: str, expected: str) -> None:
    assert ",".join(sorted(TEST6.privileges_at(principal, path))) == expected


# test8.cfg: test1 plus API tokens; the empty privsep field of carol's token means "off".
TEST8 = AccessModel(
    acl=[
        *TEST1_ACL[:7],
        AclEntry("/vms/200", "vm_admin", token="carol@pam!token"),
        AclEntry("/vms/200", "storage_manager", token="max@pve!token"),
        AclEntry("/vms/200", "customer", token="max@pve!token2"),
    ],
    groups=TEST1_GROUPS,
    custom_roles=TEST1_ROLES,
    tokens={
        "max@pve!token": Token("max@pve!token", privsep=False),
        "max@pve!token2": Token("max@pve!token2", privsep=True),
        "carol@pam!token": Token("carol@pam!token", privsep=False),
    },
)


@pytest.mark.parametrize(
    ("principal", "path", "expected"),
    [
        ("max@pve", "/vms", "vm_admin"),
        ("max@pve", "/vms/100", "customer"),
        ("max@pve", "/vms/200", "storage_manager"),
        ("joe@pve", "/vms/200", "vm_admin"),
        ("sue@pve", "/vms/200", "NoAccess"),
        ("carol@pam", "/vms/200", "NoAccess"),
        ("carol@pam!token", "/vms/200", "NoAccess"),  # non-privsep: the owner's roles
        ("max@pve!token", "/vms/200", "storage_manager"),
        ("max@pve!token2", "/vms/200", "customer"),  # privsep: its own entries only
    ],
)
def test_perm_test8_roles(principal: str, path: str, expected: str) -> None:
    assert ",".join(sorted(TEST8.roles_at(principal, path))) == expected


def test_perm_test8_privsep_token_is_intersection_with_owner() -> None:
    # token2 has customer (VM.Audit, VM.PowerMgmt); max has storage_manager at /vms/200.
    assert TEST8.privileges_at("max@pve!token2", "/vms/200") == frozenset()
    # Under /vms max has vm_admin: only VM.Audit is common.
    model = AccessModel(
        acl=[*TEST8.acl, AclEntry("/vms/300", "customer", token="max@pve!token2")],
        groups=TEST1_GROUPS,
        custom_roles=TEST1_ROLES,
        tokens=TEST8.tokens,
    )
    assert model.privileges_at("max@pve!token2", "/vms/300") == frozenset({"VM.Audit"})


def test_unknown_token_has_nothing() -> None:
    assert TEST8.roles_at("max@pve!missing", "/vms") == frozenset()
    assert TEST8.privileges_at("max@pve!missing", "/vms") == frozenset()


def test_privsep_token_gets_no_group_grants() -> None:
    model = AccessModel(
        acl=[AclEntry("/", "PVEAuditor", group="staff")],
        groups={"staff": frozenset({"ann@pve"})},
        tokens={"ann@pve!ci": Token("ann@pve!ci")},
    )
    assert model.privileges_at("ann@pve", "/") == BUILTIN_ROLES["PVEAuditor"]
    assert model.privileges_at("ann@pve!ci", "/") == frozenset()


def test_root_has_everything_without_acl() -> None:
    model = AccessModel()
    assert model.privileges_at("root@pam", "/vms/100") == frozenset(PRIVILEGES)
    assert model.roles_at("root@pam", "/") == frozenset({"Administrator"})
    assert model.privileges_at("root@pam!automation", "/") == frozenset()  # token unknown


def test_non_propagating_entry_counts_only_on_its_path() -> None:
    model = AccessModel(acl=[AclEntry("/vms", "PVEVMUser", propagate=False, user="ann@pve")])
    assert model.roles_at("ann@pve", "/vms") == frozenset({"PVEVMUser"})
    assert model.roles_at("ann@pve", "/vms/100") == frozenset()


def test_inapplicable_user_entry_lets_group_entry_apply() -> None:
    # A user entry that does not propagate leaves the level to the user's groups.
    model = AccessModel(
        acl=[
            AclEntry("/vms", "PVEVMAdmin", propagate=False, user="ann@pve"),
            AclEntry("/vms", "PVEVMUser", group="staff"),
        ],
        groups={"staff": frozenset({"ann@pve"})},
    )
    assert model.roles_at("ann@pve", "/vms/100") == frozenset({"PVEVMUser"})


def test_pool_noaccess_beats_regular_acl_for_members() -> None:
    model = AccessModel(
        acl=[
            AclEntry("/vms/100", "PVEVMAdmin", user="ann@pve"),
            AclEntry("/pool/p", "NoAccess", user="ann@pve"),
        ],
        pools={"p": Pool("p", vms=frozenset({100}))},
    )
    assert model.roles_at("ann@pve", "/vms/100") == frozenset({"PVEVMAdmin"})
    assert model.privileges_at("ann@pve", "/vms/100") == frozenset()


def test_pool_roles_are_added_but_not_propagated() -> None:
    model = AccessModel(
        acl=[AclEntry("/pool/p", "PVEVMUser", user="ann@pve")],
        pools={"p": Pool("p", vms=frozenset({100}), storages=frozenset({"local"}))},
    )
    assert model.privileges_at("ann@pve", "/vms/100") == BUILTIN_ROLES["PVEVMUser"]
    assert model.privileges_at("ann@pve", "/storage/local") == BUILTIN_ROLES["PVEVMUser"]
    assert model.privileges_at("ann@pve", "/vms/101") == frozenset()
    assert model.roles_at("ann@pve", "/vms/100") == frozenset()


def test_has_privileges_all_and_any() -> None:
    assert TEST1.has_privileges("max@pve", "/vms/100", ["VM.Audit", "VM.PowerMgmt"])
    assert not TEST1.has_privileges("max@pve", "/vms/100", ["VM.Audit", "VM.Console"])
    assert TEST1.has_privileges("max@pve", "/vms/100", ["VM.Audit", "VM.Console"], any_=True)
    with pytest.raises(ValueError, match=r"invalid privilege 'VM\.Monitor'"):
        TEST1.has_privileges("max@pve", "/vms/100", ["VM.Monitor"])


def test_invalid_userid_has_nothing() -> None:
    model = AccessModel(acl=[AclEntry("/", "Administrator", group="g")], groups={"g": frozenset()})
    assert model.privileges_at("not-a-user", "/") == frozenset()


def test_permission_tree_like_api_get_permissions_fixture() -> None:
    # api-get-permissions-test.cfg: an auditor, a stranger and their tokens.
    model = AccessModel(
        acl=[
            AclEntry("/access", "sys_auditor", user="auditor@pam"),
            AclEntry("/vms", "vm_lurker", user="auditor@pam"),
            AclEntry("/vms", "vm_lurker", token="auditor@pam!privsep"),
            AclEntry("/vms", "vm_lurker", user="stranger@pve"),
            AclEntry("/vms", "vm_manager", user="stranger@pve"),
            AclEntry("/vms", "vm_lurker", token="stranger@pve!privsep"),
        ],
        custom_roles={
            "sys_auditor": frozenset({"Sys.Audit"}),
            "vm_lurker": frozenset({"VM.Audit", "VM.Console"}),
            "vm_manager": frozenset({"VM.PowerMgmt"}),
        },
        tokens={
            "auditor@pam!noprivsep": Token("auditor@pam!noprivsep", privsep=False),
            "auditor@pam!privsep": Token("auditor@pam!privsep"),
            "stranger@pve!noprivsep": Token("stranger@pve!noprivsep", privsep=False),
            "stranger@pve!privsep": Token("stranger@pve!privsep"),
        },
    )
    lurker = frozenset({"VM.Audit", "VM.Console"})
    stranger = {"/vms": lurker | {"VM.PowerMgmt"}}
    assert model.permission_tree("stranger@pve") == stranger
    assert model.permission_tree("stranger@pve!noprivsep") == stranger
    assert model.permission_tree("stranger@pve!privsep") == {"/vms": lurker}
    # /access/groups is a default path and inherits the propagated grant on /access.
    assert model.permission_tree("auditor@pam") == {
        "/access": {"Sys.Audit"},
        "/access/groups": {"Sys.Audit"},
        "/vms": lurker,
    }
    # The privsep token has no entry on /access, so only /vms remains.
    assert model.permission_tree("auditor@pam!privsep") == {"/vms": lurker}


def test_permission_tree_includes_ancestors_and_pool_members() -> None:
    model = AccessModel(
        acl=[
            AclEntry("/", "PVEAuditor", user="ann@pve"),
            AclEntry("/pool/p", "PVEVMUser", user="ann@pve"),
        ],
        pools={"p": Pool("p", vms=frozenset({123}))},
    )
    tree = model.permission_tree("ann@pve")
    assert tree["/vms/123"] == BUILTIN_ROLES["PVEAuditor"] | BUILTIN_ROLES["PVEVMUser"]
    assert tree["/pool"] == BUILTIN_ROLES["PVEAuditor"]
    assert set(tree) >= {"/", "/access", "/nodes", "/pool", "/pool/p", "/vms", "/vms/123"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"user": "ann@pve", "group": "staff"},
        {"user": "not a user"},
        {"token": "ann@pve"},
        {"group": "bad group"},
    ],
)
def test_acl_entry_needs_one_valid_subject(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="ACL entry"):
        AclEntry("/", "PVEAuditor", **kwargs)


def test_acl_entry_normalizes_its_path() -> None:
    entry = AclEntry("//vms//100/", "PVEAuditor", group="staff")
    assert entry.path == "/vms/100"
    assert entry.subject == "@staff"


def test_token_splits_its_id() -> None:
    token = Token("portal@pve!automation")
    assert (token.userid, token.name, token.privsep) == ("portal@pve", "automation", True)
    with pytest.raises(ValueError, match="not a valid token ID"):
        Token("portal@pve")


def test_ten_thousand_entries() -> None:
    # Speed is a benchmark's business; this pins the results on a model of that size.
    acl = [AclEntry(f"/vms/{vmid}", "PVEVMUser", user=f"u{vmid}@pve") for vmid in range(100, 10100)]
    acl.append(AclEntry("/vms", "PVEAuditor", group="staff"))
    model = AccessModel(acl=acl, groups={"staff": frozenset({"u5000@pve"})})
    assert model.privileges_at("u5000@pve", "/vms/5000") == BUILTIN_ROLES["PVEVMUser"]
    assert model.privileges_at("u5000@pve", "/vms/5001") == BUILTIN_ROLES["PVEAuditor"]
    assert model.privileges_at("u5001@pve", "/vms/5000") == frozenset()
    assert set(model.permission_tree("u100@pve")) == {"/vms/100"}
