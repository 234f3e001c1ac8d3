"""`manage.py pveum` sub-commands: happy paths, and clear errors that change nothing."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from apps.access.models import AclEntry, ApiToken, Group, Pool, Role
from apps.access.services import acl_modify, token_authenticate
from apps.audit.models import AuditEvent
from apps.identity.models import Realm, TotpDevice, User
from pvecore.privileges import BUILTIN_ROLES

pytestmark = pytest.mark.django_db


def pveum(*args: str) -> str:
    out = io.StringIO()
    call_command("pveum", *args, stdout=out)
    return out.getvalue()


def pveum_json(*args: str) -> object:
    return json.loads(pveum(*args, "--output-format", "json"))


@pytest.fixture
def ann(make_user) -> User:
    return make_user("ann@pve")


def _state() -> tuple:
    """Everything a refused command must leave as it was."""
    return (
        list(AclEntry.objects.values_list("path", "role", "propagate", "user_id", "group_id")),
        list(Role.objects.values_list("name", "privileges")),
        list(Group.objects.values_list("name", "comment")),
        list(Pool.objects.values_list("name", "comment")),
        list(ApiToken.objects.values_list("name", "user_id")),
        list(User.objects.values_list("username", flat=True)),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["acl", "modify", "/nowhere", "--roles", "PVEAuditor", "--users", "ann@pve"],
            "invalid ACL path '/nowhere'",
        ),
        (
            ["acl", "modify", "/vms/100", "--roles", "Ghost", "--users", "ann@pve"],
            "role 'Ghost' does not exist",
        ),
        (
            ["acl", "modify", "/vms/100", "--roles", "PVEAuditor", "--users", "nobody@pve"],
            "user 'nobody@pve' does not exist",
        ),
        (
            ["acl", "modify", "/vms/100", "--roles", "PVEAuditor", "--groups", "ghosts"],
            "group 'ghosts' does not exist",
        ),
        (["acl", "modify", "/vms/100", "--roles", "PVEAuditor"], "no users, groups or tokens"),
        (
            [
                "acl",
                "modify",
                "/vms/100",
                "--roles",
                "PVEAuditor",
                "--users",
                "ann@pve",
                "--propagate",
                "2",
            ],
            None,
        ),
        (
            ["role", "modify", "PVEAdmin", "--privs", "Sys.Modify"],
            "cannot modify built-in role 'PVEAdmin'",
        ),
        (["role", "delete", "NoAccess"], "cannot delete built-in role 'NoAccess'"),
        (
            ["role", "add", "PVEMine", "--privs", "VM.Audit"],
            "cannot use role ID starting with the (case-insensitive) 'PVE' namespace",
        ),
        (["role", "add", "pvelower"], "'PVE' namespace"),
        (["role", "add", "Administrator"], "role 'Administrator' already exists"),
        (["role", "add", "Mine", "--privs", "VM.Monitor"], "invalid privilege 'VM.Monitor'"),
        (["role", "modify", "Missing", "--privs", "VM.Audit"], "role 'Missing' does not exist"),
        (["group", "add", "bad name"], "invalid group name 'bad name'"),
        (["group", "add", "ops", "--users", "nobody@pve"], "no such user ('nobody@pve')"),
        (["pool", "add", "a/b"], "parent pool 'a' does not exist"),
        (["pool", "add", "p", "--vms", "abc"], "invalid VMID 'abc'"),
        (["pool", "add", "p", "--storage", "Bad/Id"], "invalid storage ID 'Bad/Id'"),
        (["user", "add", "eve@pam", "--password", "secret"], "checks passwords itself"),
        (["user", "add", "eve@nowhere"], "domain 'nowhere' does not exist"),
        (["user", "token", "add", "ann@pve", "x"], "invalid token name 'x'"),
        (["user", "token", "remove", "ann@pve", "nope"], "no such token 'nope'"),
        (["permissions", "ann@pve", "--path", "/what/ever"], "invalid ACL path '/what/ever'"),
        (
            ["realm", "add", "corp", "--type", "ldap", "--server1", "ldap.example.org"],
            "base_dn: property is missing",
        ),
        (["realm", "sync", "nowhere"], "domain 'nowhere' does not exist"),
    ],
)
def test_bad_input_is_refused_clearly_and_changes_nothing(
    ann: User, args: list[str], message: str | None
) -> None:
    before = _state()
    with pytest.raises(CommandError) as refused:
        pveum(*args)
    if message is not None:
        assert message in str(refused.value)
    assert _state() == before


# users -------------------------------------------------------------------------------------------


def test_user_add_list_and_delete() -> None:
    pveum("group", "add", "ops")
    pveum(
        "user",
        "add",
        "eve@pve",
        "--password",
        "eve-password-1",
        "--email",
        "eve@example.org",
        "--firstname",
        "Eve",
        "--lastname",
        "Moneypenny",
        "--expire",
        "1893456000",
        "--comment",
        "night shift",
        "--groups",
        "ops",
        "--enable",
        "0",
    )
    eve = User.objects.get(username="eve@pve")
    assert eve.check_password("eve-password-1")
    assert (eve.first_name, eve.last_name, eve.comment, eve.is_active) == (
        "Eve",
        "Moneypenny",
        "night shift",
        False,
    )
    assert eve.expire == datetime(2030, 1, 1, tzinfo=UTC)
    assert list(eve.access_groups.values_list("name", flat=True)) == ["ops"]
    listed = {row["userid"]: row for row in pveum_json("user", "list")}
    assert listed["eve@pve"]["expire"] == 1893456000
    assert listed["eve@pve"]["enable"] == 0

    pveum("user", "token", "add", "eve@pve", "ci")
    pveum("acl", "modify", "/vms", "--roles", "PVEAuditor", "--users", "eve@pve")
    pveum("user", "delete", "eve@pve")
    assert not User.objects.filter(username="eve@pve").exists()
    assert not AclEntry.objects.exists()
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.filter(action="access.user_deleted", target="eve@pve").exists()


def test_user_tfa_unlock(ann: User, make_user) -> None:
    make_user("op@pve")
    TotpDevice.objects.create(
        user=ann,
        secret="JBSWY3DPEHPK3PXP",
        failed_attempts=8,
        locked_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    pveum("--actor", "op@pve", "user", "tfa", "unlock", "ann@pve")
    device = TotpDevice.objects.get(user=ann)
    assert (device.locked_at, device.failed_attempts) == (None, 0)
    assert AuditEvent.objects.filter(action="identity.totp_unlocked", actor="op@pve").exists()


# tokens ------------------------------------------------------------------------------------------


def test_token_add_prints_the_secret_once_and_it_works(ann: User) -> None:
    created = json.loads(
        pveum("user", "token", "add", "ann@pve", "ci", "--privsep", "0", "--comment", "CI")
    )
    assert created["full-tokenid"] == "ann@pve!ci"
    assert created["info"] == {"privsep": 0, "expire": 0, "comment": "CI"}
    token = token_authenticate(tokenid="ann@pve!ci", secret=created["value"])
    assert token is not None
    assert not token.privsep
    assert [row["full-tokenid"] for row in pveum_json("token", "list", "ann@pve")] == ["ann@pve!ci"]
    assert created["value"] not in pveum("token", "list")
    pveum("token", "delete", "ann@pve", "ci")
    assert not ApiToken.objects.exists()
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"access.token_created", "access.token_deleted"} <= actions


def test_token_expiry_defaults_to_the_users(make_user) -> None:
    make_user("tmp@pve", expire=datetime(2030, 1, 1, tzinfo=UTC))
    created = json.loads(pveum("token", "add", "tmp@pve", "ci"))
    assert created["info"]["expire"] == 1893456000
    explicit = json.loads(pveum("token", "add", "tmp@pve", "short", "--expire", "1800000000"))
    assert explicit["info"]["expire"] == 1800000000


# groups, roles, ACL, pools -----------------------------------------------------------------------


def test_group_add_modify_list_delete(ann: User, make_user) -> None:
    make_user("bob@pve")
    pveum("group", "add", "ops", "--comment", "Operations", "--users", "ann@pve")
    pveum("group", "modify", "ops", "--users", "ann@pve,bob@pve")
    assert pveum_json("group", "list") == [
        {"groupid": "ops", "users": "ann@pve,bob@pve", "comment": "Operations"}
    ]
    pveum("acl", "modify", "/", "--roles", "PVEAuditor", "--groups", "ops")
    pveum("group", "delete", "ops")
    assert not Group.objects.exists()
    assert not AclEntry.objects.exists()


def test_role_add_modify_list_delete(ann: User) -> None:
    pveum("role", "add", "Operator", "--privs", "VM.PowerMgmt,VM.Audit")
    pveum("role", "modify", "Operator", "--privs", "VM.Console", "--append", "1")
    roles = {row["roleid"]: row for row in pveum_json("role", "list")}
    assert roles["Operator"] == {
        "roleid": "Operator",
        "privs": "VM.Audit,VM.Console,VM.PowerMgmt",
        "special": 0,
    }
    assert roles["PVEAuditor"]["special"] == 1
    assert len(roles) == len(BUILTIN_ROLES) + 1
    pveum("role", "modify", "Operator", "--privs", "VM.Audit")
    assert Role.objects.get(name="Operator").privileges == ["VM.Audit"]
    pveum("acl", "modify", "/vms", "--roles", "Operator", "--users", "ann@pve")
    pveum("role", "delete", "Operator")
    assert not Role.objects.exists()
    assert not AclEntry.objects.exists()  # PVE drops the role's ACL entries too


def test_acl_modify_list_delete_and_permissions(ann: User) -> None:
    pveum("user", "token", "add", "ann@pve", "ci")
    pveum(
        "acl",
        "modify",
        "//vms//",
        "--roles",
        "PVEVMUser,PVEAuditor",
        "--users",
        "ann@pve",
        "--propagate",
        "0",
    )
    pveum("acl", "modify", "/vms", "--roles", "PVEAuditor", "--tokens", "ann@pve!ci")
    assert pveum_json("acl", "list") == [
        {"path": "/vms", "type": "user", "ugid": "ann@pve", "roleid": "PVEAuditor", "propagate": 0},
        {
            "path": "/vms",
            "type": "token",
            "ugid": "ann@pve!ci",
            "roleid": "PVEAuditor",
            "propagate": 1,
        },
        {"path": "/vms", "type": "user", "ugid": "ann@pve", "roleid": "PVEVMUser", "propagate": 0},
    ]
    permissions = pveum_json("permissions", "ann@pve", "--path", "/vms")
    assert permissions == [
        {
            "path": "/vms",
            "privileges": ",".join(
                sorted(BUILTIN_ROLES["PVEVMUser"] | BUILTIN_ROLES["PVEAuditor"])
            ),
        }
    ]
    # Not propagated: nothing on /vms/100 for ann, so nothing for her privsep token either.
    assert pveum_json("user", "permissions", "ann@pve!ci", "--path", "/vms/100") == [
        {"path": "/vms/100", "privileges": ""}
    ]
    pveum("acl", "delete", "/vms", "--roles", "PVEVMUser", "--users", "ann@pve")
    assert set(AclEntry.objects.values_list("role", flat=True)) == {"PVEAuditor"}
    audited = AuditEvent.objects.filter(action__startswith="access.acl_", target="/vms")
    assert audited.count() == 3


def test_permission_tree_without_a_path(ann: User) -> None:
    acl_modify(path="/storage", roles=["PVEDatastoreUser"], users=["ann@pve"])
    tree = {row["path"]: row["privileges"] for row in pveum_json("permissions", "ann@pve")}
    assert tree == {"/storage": "Datastore.AllocateSpace,Datastore.Audit"}
    text = pveum("permissions", "ann@pve")
    assert "/storage" in text
    assert "Datastore.Audit" in text


def test_pool_add_modify_list_delete(ann: User) -> None:
    pveum(
        "pool", "add", "tenant", "--comment", "Tenant A", "--vms", "100,101", "--storage", "local"
    )
    pveum("pool", "add", "other", "--vms", "200")
    with pytest.raises(CommandError, match="VM 200 is already a pool member"):
        pveum("pool", "modify", "tenant", "--vms", "200")
    pveum("pool", "modify", "tenant", "--vms", "200", "--allow-move", "1")
    pveum("pool", "modify", "tenant", "--vms", "101", "--delete", "1")
    pools = {row["poolid"]: row for row in pveum_json("pool", "list")}
    assert pools["tenant"] == {
        "poolid": "tenant",
        "vms": "100,200",
        "storage": "local",
        "comment": "Tenant A",
    }
    assert pools["other"]["vms"] == ""
    with pytest.raises(CommandError, match="pool 'tenant' is not empty"):
        pveum("pool", "delete", "tenant")
    pveum("acl", "modify", "/pool/other", "--roles", "PVEPoolUser", "--users", "ann@pve")
    pveum("pool", "delete", "other")
    assert not Pool.objects.filter(name="other").exists()
    assert not AclEntry.objects.filter(path="/pool/other").exists()


def test_actor_is_recorded(ann: User, make_user) -> None:
    make_user("op@pve")
    pveum("--actor", "op@pve", "group", "add", "ops")
    event = AuditEvent.objects.get(action="access.group_created")
    assert (event.actor, event.actor_kind, event.target) == ("op@pve", "user", "/access/groups/ops")
    pveum("group", "delete", "ops")
    event = AuditEvent.objects.get(action="access.group_deleted")
    assert (event.actor, event.actor_kind) == ("pveum", "system")


# realms ------------------------------------------------------------------------------------------


def test_realm_add_list_and_sync(slapd) -> None:
    pveum(
        "realm",
        "add",
        "corp",
        "--type",
        "ldap",
        "--server1",
        "127.0.0.1",
        "--port",
        str(slapd.port),
        "--base_dn",
        f"ou=people,{slapd.base_dn}",
        "--user_attr",
        "uid",
        "--bind_dn",
        slapd.service_dn,
        "--password",
        slapd.service_password,
        "--group_dn",
        f"ou=groups,{slapd.base_dn}",
        "--comment",
        "Corporate",
        "--tfa",
        "type=oath",
    )
    realm = Realm.objects.get(name="corp")
    assert (realm.type, realm.tfa_required, realm.options["user_attr"]) == ("ldap", True, "uid")
    assert realm.bind_password == slapd.service_password
    listed = {row["realm"]: row for row in pveum_json("realm", "list")}
    assert listed["corp"]["tfa"] == "oath"
    assert {"pve", "pam"} <= set(listed)

    dry = json.loads(pveum("realm", "sync", "corp", "--dry-run"))
    assert dry["dry_run"] is True
    assert "alice@corp" in dry["users_added"]
    assert not User.objects.filter(realm=realm).exists()

    report = json.loads(pveum("realm", "sync", "corp", "--scope", "both", "--enable-new", "1"))
    assert sorted(report["users_added"]) == ["alice@corp", "bob@corp", "carol@corp"]
    assert sorted(report["groups_added"]) == ["admins-corp", "devs-corp"]
    assert User.objects.filter(realm=realm).count() == 3


def test_realm_sync_membership_reaches_the_engine(slapd) -> None:
    """The sync sets Group.members directly: the next check must see the new members."""
    from apps.access import engine

    pveum(
        "realm",
        "add",
        "corp",
        "--type",
        "ldap",
        "--server1",
        "127.0.0.1",
        "--port",
        str(slapd.port),
        "--base_dn",
        f"ou=people,{slapd.base_dn}",
        "--user_attr",
        "uid",
        "--bind_dn",
        slapd.service_dn,
        "--password",
        slapd.service_password,
        "--group_dn",
        f"ou=groups,{slapd.base_dn}",
    )
    pveum("realm", "sync", "corp")
    alice = User.objects.get(username="alice@corp")
    assert not engine.has_privileges(alice, "/", "Sys.Audit")
    pveum("acl", "modify", "/", "--roles", "PVEAuditor", "--groups", "admins-corp")
    assert engine.has_privileges(alice, "/", "Sys.Audit")
    Group.objects.get(name="admins-corp").members.clear()
    assert not engine.has_privileges(alice, "/", "Sys.Audit")
    pveum("realm", "sync", "corp")  # puts alice back through Group.members.set
    assert engine.has_privileges(alice, "/", "Sys.Audit")
