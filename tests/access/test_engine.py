"""The permission engine over the database reproduces PVE's rules (FACTS.md 4 and 11.4-11.5a)."""

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.access import engine
from apps.access.compiled import compile_access
from apps.access.exceptions import AccessDenied
from apps.access.models import Pool, PoolGuest
from apps.access.selectors import principal_by_id
from apps.access.services import (
    acl_modify,
    group_create,
    pool_create,
    role_create,
    token_create,
)
from apps.access.usercfg_io import import_usercfg
from apps.identity.models import User
from pvecore.privileges import BUILTIN_ROLES, PRIVILEGES

pytestmark = pytest.mark.django_db

USERCFG = Path(__file__).parent / "usercfg"
VM_USER = BUILTIN_ROLES["PVEVMUser"]
VM_ADMIN = BUILTIN_ROLES["PVEVMAdmin"]
AUDITOR = BUILTIN_ROLES["PVEAuditor"]
MakeUser = Callable[..., User]


@pytest.fixture
def ann(make_user: MakeUser) -> User:
    return make_user("ann@pve")


# The official PVE vectors, imported into the database --------------------------------------------


@pytest.mark.parametrize("name", ["test1", "test3", "test4", "test6", "test8"])
def test_pve_vectors_through_the_database(name: str) -> None:
    import_usercfg(text=(USERCFG / f"{name}.cfg").read_text())
    checked = 0
    for line in (USERCFG / f"{name}.expected.jsonl").read_text().splitlines():
        case = json.loads(line)
        # root@pam is implicit (never imported), the empty path is no path, and an unknown
        # token cannot be an actor: the evaluate tests cover those against the file itself.
        if case["path"] == "" or case["subject"] in ("root@pam", "max@pve!missing"):
            continue
        actor = principal_by_id(case["subject"])
        assert sorted(engine.roles(actor, case["path"])) == case["roles"], case
        assert sorted(engine.privileges(actor, case["path"])) == case["privileges"], case
        checked += 1
    assert checked >= 2


# Walk rules --------------------------------------------------------------------------------------


def test_deeper_paths_replace_upper_ones(ann: User) -> None:
    acl_modify(path="/vms", roles=["PVEVMAdmin"], users=["ann@pve"])
    acl_modify(path="/vms/100", roles=["PVEAuditor"], users=["ann@pve"])
    assert engine.privileges(ann, "/vms/100") == AUDITOR
    assert engine.privileges(ann, "/vms/101") == VM_ADMIN


def test_user_entry_beats_group_entry_on_the_same_path(ann: User) -> None:
    group_create(name="staff", members=[ann])
    acl_modify(path="/vms/100", roles=["PVEVMAdmin"], groups=["staff"])
    acl_modify(path="/vms/100", roles=["PVEAuditor"], users=["ann@pve"])
    assert engine.roles(ann, "/vms/100") == {"PVEAuditor"}
    assert engine.privileges(ann, "/vms/100") == AUDITOR


def test_user_entry_that_does_not_apply_leaves_the_level_to_groups(ann: User) -> None:
    group_create(name="staff", members=[ann])
    acl_modify(path="/vms", roles=["PVEVMAdmin"], users=["ann@pve"], propagate=False)
    acl_modify(path="/vms", roles=["PVEVMUser"], groups=["staff"])
    assert engine.privileges(ann, "/vms") == VM_ADMIN
    assert engine.privileges(ann, "/vms/100") == VM_USER


def test_group_entries_of_one_level_are_united(make_user: MakeUser) -> None:
    bob = make_user("bob@pve")
    group_create(name="ops", members=[bob])
    group_create(name="audit", members=[bob])
    acl_modify(path="/vms", roles=["PVEVMUser"], groups=["ops"])
    acl_modify(path="/vms", roles=["PVEAuditor"], groups=["audit"])
    assert engine.privileges(bob, "/vms/100") == VM_USER | AUDITOR


def test_noaccess_wins_over_every_other_role(ann: User) -> None:
    group_create(name="staff", members=[ann])
    acl_modify(path="/", roles=["Administrator"], users=["ann@pve"])
    acl_modify(path="/vms", roles=["NoAccess", "PVEVMAdmin"], groups=["staff"])
    acl_modify(path="/vms", roles=["NoAccess", "PVEVMAdmin"], users=["ann@pve"])
    assert engine.roles(ann, "/vms/100") == {"NoAccess"}
    assert engine.privileges(ann, "/vms/100") == frozenset()
    assert engine.privileges(ann, "/storage") == frozenset(PRIVILEGES)


def test_propagate_flag(ann: User) -> None:
    acl_modify(path="/storage", roles=["PVEDatastoreUser"], users=["ann@pve"], propagate=False)
    acl_modify(path="/nodes", roles=["PVESysAdmin"], users=["ann@pve"])
    assert engine.privileges(ann, "/storage") == BUILTIN_ROLES["PVEDatastoreUser"]
    assert engine.privileges(ann, "/storage/local") == frozenset()
    assert engine.privileges(ann, "/nodes/pve1") == BUILTIN_ROLES["PVESysAdmin"]


def test_custom_role(ann: User) -> None:
    role_create(name="Operator", privileges=["VM.PowerMgmt", "VM.Audit"])
    acl_modify(path="/vms/100", roles=["Operator"], users=["ann@pve"])
    assert engine.privileges(ann, "/vms/100") == {"VM.PowerMgmt", "VM.Audit"}


# Pools -------------------------------------------------------------------------------------------


def test_pool_roles_are_added_to_members_only(ann: User) -> None:
    pool_create(name="tenant", vmids=[100], storages=["local"])
    acl_modify(path="/pool/tenant", roles=["PVEVMUser"], users=["ann@pve"])
    assert engine.privileges(ann, "/vms/100") == VM_USER
    assert engine.privileges(ann, "/storage/local") == VM_USER
    assert engine.privileges(ann, "/vms/101") == frozenset()
    assert engine.privileges(ann, "/vms") == frozenset()
    assert engine.roles(ann, "/vms/100") == frozenset()  # roles() never applies pools


def test_pool_noaccess_overrides_the_regular_acl_of_members(ann: User) -> None:
    pool_create(name="tenant", vmids=[100])
    acl_modify(path="/vms/100", roles=["PVEVMAdmin"], users=["ann@pve"])
    acl_modify(path="/pool/tenant", roles=["NoAccess"], users=["ann@pve"])
    assert engine.privileges(ann, "/vms/100") == frozenset()


def test_regular_noaccess_is_not_overridden_by_pool_roles(ann: User) -> None:
    pool_create(name="tenant", vmids=[100])
    acl_modify(path="/vms/100", roles=["NoAccess"], users=["ann@pve"])
    acl_modify(path="/pool/tenant", roles=["PVEVMAdmin"], users=["ann@pve"])
    assert engine.privileges(ann, "/vms/100") == frozenset()


def test_nested_pools(make_user: MakeUser) -> None:
    lead, intern = make_user("lead@pve"), make_user("intern@pve")
    pool_create(name="dept", vmids=[600])
    pool_create(name="dept/interns", vmids=[700])
    acl_modify(path="/pool/dept", roles=["PVEVMUser"], users=["lead@pve"])
    acl_modify(path="/pool/dept/interns", roles=["PVEAuditor"], users=["intern@pve"])
    assert engine.privileges(lead, "/vms/700") == VM_USER  # /pool/dept propagates to the child
    assert engine.privileges(intern, "/vms/700") == AUDITOR
    assert engine.privileges(intern, "/vms/600") == frozenset()  # never up to the parent


# Tokens, operators and account state -------------------------------------------------------------


def test_privsep_token_is_its_acl_intersected_with_the_user(ann: User) -> None:
    token, _secret = token_create(user=ann, name="ci")
    acl_modify(path="/vms", roles=["PVEVMAdmin"], users=["ann@pve"])
    acl_modify(path="/vms/100", roles=["PVEAuditor"], users=["ann@pve"])
    acl_modify(path="/vms", roles=["PVEVMUser"], tokens=["ann@pve!ci"])
    assert engine.privileges(token, "/vms/101") == VM_USER
    assert engine.privileges(token, "/vms/100") == VM_USER & AUDITOR
    assert engine.privileges(token, "/storage") == frozenset()


def test_privsep_token_gets_no_group_grants(ann: User) -> None:
    token, _secret = token_create(user=ann, name="ci")
    group_create(name="staff", members=[ann])
    acl_modify(path="/", roles=["PVEAuditor"], groups=["staff"])
    assert engine.privileges(ann, "/") == AUDITOR
    assert engine.privileges(token, "/") == frozenset()


def test_token_without_privsep_is_the_user(ann: User) -> None:
    token, _secret = token_create(user=ann, name="full", privsep=False)
    group_create(name="staff", members=[ann])
    acl_modify(path="/vms", roles=["PVEVMUser"], groups=["staff"])
    assert engine.privileges(token, "/vms/100") == VM_USER
    assert engine.principal_of(token) == "ann@pve!full"


def test_root_at_pam_has_everything(make_user: MakeUser) -> None:
    root = make_user("root@pam")
    assert engine.privileges(root, "/vms/100") == frozenset(PRIVILEGES)
    assert engine.roles(root, "/") == {"Administrator"}


def test_operators_hold_every_privilege_like_root(make_user: MakeUser) -> None:
    operator = make_user("op@pve")
    User.objects.filter(pk=operator.pk).update(is_superuser=True)
    operator.refresh_from_db()
    full, _secret = token_create(user=operator, name="full", privsep=False)
    separated, _secret = token_create(user=operator, name="ci")
    acl_modify(path="/vms", roles=["PVEAuditor"], tokens=["op@pve!ci"])
    assert engine.privileges(operator, "/nodes/pve1") == frozenset(PRIVILEGES)
    assert engine.privileges(full, "/nodes/pve1") == frozenset(PRIVILEGES)
    # Like root@pam's privsep tokens: its own ACL, intersected with "everything".
    assert engine.privileges(separated, "/vms/100") == AUDITOR
    assert engine.privileges(separated, "/nodes/pve1") == frozenset()


def test_demoted_operator_token_falls_back_to_the_acl(make_user: MakeUser) -> None:
    operator = make_user("op@pve")
    User.objects.filter(pk=operator.pk).update(is_superuser=True)
    token, _secret = token_create(user=operator, name="ci")
    acl_modify(path="/vms", roles=["PVEAuditor"], tokens=["op@pve!ci"])
    token.refresh_from_db()
    assert engine.privileges(token, "/vms/100") == AUDITOR
    # Demoted without any access service running: the compiled model still lists an operator.
    User.objects.filter(pk=operator.pk).update(is_superuser=False)
    token.user.refresh_from_db()
    assert engine.privileges(token, "/vms/100") == frozenset()


@pytest.mark.parametrize(
    "change",
    [
        {"is_active": False},
        {"expire": timezone.now() - timedelta(seconds=1)},
    ],
)
def test_disabled_or_expired_user_and_their_tokens_have_nothing(
    make_user: MakeUser, change: dict
) -> None:
    bob = make_user("bob@pve")
    token, _secret = token_create(user=bob, name="full", privsep=False)
    acl_modify(path="/", roles=["Administrator"], users=["bob@pve"])
    assert engine.has_privileges(bob, "/vms/100", "VM.Audit")
    User.objects.filter(pk=bob.pk).update(**change)
    bob.refresh_from_db()
    token.refresh_from_db()
    assert engine.privileges(bob, "/vms/100") == frozenset()
    assert engine.privileges(token, "/vms/100") == frozenset()
    assert engine.permission_tree(bob) == {}


def test_expired_token_has_nothing(ann: User) -> None:
    token, _secret = token_create(
        user=ann, name="old", privsep=False, expire=timezone.now() - timedelta(seconds=1)
    )
    acl_modify(path="/", roles=["Administrator"], users=["ann@pve"])
    assert engine.privileges(ann, "/") == frozenset(PRIVILEGES)
    assert engine.privileges(token, "/") == frozenset()


def test_anonymous_has_nothing() -> None:
    from django.contrib.auth.models import AnonymousUser

    assert engine.principal_of(AnonymousUser()) == ""
    assert not engine.has_privileges(AnonymousUser(), "/", "Sys.Audit")


# The checking API --------------------------------------------------------------------------------


def test_require_raises_with_pves_message(ann: User) -> None:
    acl_modify(path="/vms/100", roles=["PVEAuditor"], users=["ann@pve"])
    engine.require(ann, ["VM.Audit"], "/vms/100")
    with pytest.raises(
        AccessDenied, match=r"^Permission check failed \(/vms/100, VM\.PowerMgmt\)$"
    ):
        engine.require(ann, ["VM.Audit", "VM.PowerMgmt"], "/vms/100")
    with pytest.raises(AccessDenied) as denied:
        engine.require(ann, ["VM.Console", "VM.PowerMgmt"], "/vms/100", any_=True)
    assert str(denied.value) == "Permission check failed (/vms/100, VM.Console|VM.PowerMgmt)"
    engine.require(ann, ["VM.Console", "VM.Audit"], "/vms/100", any_=True)


def test_has_privileges_all_any_and_unknown_names(ann: User) -> None:
    acl_modify(path="/vms/100", roles=["PVEAuditor"], users=["ann@pve"])
    assert engine.has_privileges(ann, "/vms//100/", "VM.Audit")  # paths are normalised
    assert not engine.has_privileges(ann, "/vms/100", ["VM.Audit", "VM.Console"])
    assert engine.has_privileges(ann, "/vms/100", ["VM.Audit", "VM.Console"], any_=True)
    with pytest.raises(ValueError, match=r"invalid privilege 'VM\.Monitor'"):
        engine.has_privileges(ann, "/vms/100", "VM.Monitor")


def test_permission_tree(ann: User) -> None:
    pool_create(name="tenant", vmids=[123])
    acl_modify(path="/pool/tenant", roles=["PVEVMUser"], users=["ann@pve"])
    acl_modify(path="/storage", roles=["PVEDatastoreUser"], users=["ann@pve"])
    tree = engine.permission_tree(ann)
    assert tree["/vms/123"] == VM_USER
    assert tree["/storage"] == BUILTIN_ROLES["PVEDatastoreUser"]
    assert "/vms" not in tree


# Scoping lists -----------------------------------------------------------------------------------


def _guest_rows(*vmids: int) -> None:
    pool = Pool.objects.create(name="inventory")
    PoolGuest.objects.bulk_create(PoolGuest(pool=pool, vmid=vmid) for vmid in vmids)


def test_visible_vmids_as_a_set(ann: User) -> None:
    acl_modify(path="/vms/100", roles=["PVEAuditor"], users=["ann@pve"])
    acl_modify(path="/vms/101", roles=["PVEVMUser"], users=["ann@pve"])
    acl_modify(path="/vms/102", roles=["PVEDatastoreUser"], users=["ann@pve"])
    assert engine.visible_vmids(ann) == {100, 101}
    assert engine.visible_vmids(ann, "VM.PowerMgmt") == {101}


def test_visible_vmids_all_except_the_denied(ann: User) -> None:
    acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"])
    acl_modify(path="/vms/105", roles=["NoAccess"], users=["ann@pve"])
    visible = engine.visible_vmids(ann)
    assert visible == engine.AllExcept(frozenset({105}))
    assert 100 in visible
    assert 105 not in visible


def test_visible_vmids_includes_pool_members(ann: User) -> None:
    pool_create(name="tenant", vmids=[300, 301])
    acl_modify(path="/pool/tenant", roles=["PVEVMUser"], users=["ann@pve"])
    assert engine.visible_vmids(ann) == {300, 301}


def test_operator_sees_everything(make_user: MakeUser) -> None:
    operator = make_user("op@pve")
    operator.is_superuser = True
    assert engine.visible_vmids(operator) == engine.ALL


def test_filter_by_vmid_is_one_query(ann: User, django_assert_num_queries) -> None:
    _guest_rows(100, 101, 102, 103)
    acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"])
    acl_modify(path="/vms/102", roles=["NoAccess"], users=["ann@pve"])
    engine.visible_vmids(ann)  # compile the model first
    with django_assert_num_queries(1):
        vmids = list(
            engine.filter_by_vmid(PoolGuest.objects.all(), ann).values_list("vmid", flat=True)
        )
    assert sorted(vmids) == [100, 101, 103]
    acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"], propagate=False)
    only_granted = engine.filter_by_vmid(PoolGuest.objects.all(), ann)
    assert list(only_granted) == []


def test_filter_by_id_on_storages(ann: User) -> None:
    acl_modify(path="/storage/local", roles=["PVEDatastoreUser"], users=["ann@pve"])
    pool = Pool.objects.create(name="p")
    for storage in ("local", "nfs", "ceph"):
        pool.storages.create(storage=storage)
    visible = engine.filter_by_id(
        pool.storages.all(), ann, privilege="Datastore.Audit", parent="/storage", field="storage"
    )
    assert [row.storage for row in visible] == ["local"]


def test_filter_by_path_checks_each_row(ann: User) -> None:
    pool_create(name="a")
    pool_create(name="a/b")
    pool_create(name="c")
    acl_modify(path="/pool/a", roles=["PVEPoolUser"], users=["ann@pve"])
    visible = engine.filter_by_path(
        Pool.objects.all(), ann, privilege="Pool.Audit", path_for=lambda pool: f"/pool/{pool.name}"
    )
    assert sorted(pool.name for pool in visible) == ["a", "a/b"]


def test_compiling_costs_a_fixed_number_of_queries(make_user: MakeUser, django_assert_num_queries):
    users = [make_user(f"u{n}@pve") for n in range(5)]
    group_create(name="g", members=users)
    for n, user in enumerate(users):
        token_create(user=user, name="ci")
        pool_create(name=f"p{n}", vmids=[1000 + n], storages=["local"])
        acl_modify(path=f"/vms/{1000 + n}", roles=["PVEVMUser"], users=[user.username])
        acl_modify(path=f"/vms/{1000 + n}", roles=["PVEAuditor"], tokens=[f"{user.username}!ci"])
    with django_assert_num_queries(8):
        compiled = compile_access()
    assert len(compiled.model.acl) == 10
    assert compiled.mentioned_children["/vms"] == {str(1000 + n) for n in range(5)}
