"""Every access service writes its audit event in its own transaction; subject cleanup works."""

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access import engine, services
from apps.access.models import AclEntry, ApiToken, Group, Pool
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.identity.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(make_user) -> User:
    return make_user("ann@pve")


def _calls(ann: User) -> list[tuple[str, Callable[[], object]]]:
    actor = Actor.user(ann)
    return [
        ("access.role_created", lambda: services.role_create(name="R1", actor=actor)),
        (
            "access.role_modified",
            lambda: services.role_modify(name="R1", privileges=["VM.Audit"], actor=actor),
        ),
        ("access.group_created", lambda: services.group_create(name="g1", actor=actor)),
        (
            "access.group_modified",
            lambda: services.group_modify(
                group=Group.objects.get(name="g1"), members=[ann], actor=actor
            ),
        ),
        ("access.pool_created", lambda: services.pool_create(name="p1", actor=actor)),
        (
            "access.pool_modified",
            lambda: services.pool_modify(
                pool=Pool.objects.get(name="p1"), vmids=[100], actor=actor
            ),
        ),
        ("access.token_created", lambda: services.token_create(user=ann, name="ci", actor=actor)),
        (
            "access.acl_modified",
            lambda: services.acl_modify(path="/", roles=["R1"], groups=["g1"], actor=actor),
        ),
        (
            "access.acl_deleted",
            lambda: services.acl_delete(path="/", roles=["R1"], groups=["g1"], actor=actor),
        ),
        (
            "access.token_deleted",
            lambda: services.token_delete(token=ApiToken.objects.get(), actor=actor),
        ),
        ("access.role_deleted", lambda: services.role_delete(name="R1", actor=actor)),
        (
            "access.group_deleted",
            lambda: services.group_delete(group=Group.objects.get(name="g1"), actor=actor),
        ),
        (
            "access.pool_modified",
            lambda: services.pool_modify(
                pool=Pool.objects.get(name="p1"), vmids=[100], delete=True, actor=actor
            ),
        ),
        (
            "access.pool_deleted",
            lambda: services.pool_delete(pool=Pool.objects.get(name="p1"), actor=actor),
        ),
    ]


def test_each_service_records_one_audit_event(ann: User) -> None:
    for action, call in _calls(ann):
        before = AuditEvent.objects.count()
        call()
        assert AuditEvent.objects.count() == before + 1, action
        event = AuditEvent.objects.order_by("-id").first()
        assert (event.action, event.actor) == (action, "ann@pve")


def test_a_failed_change_leaves_neither_rows_nor_audit(ann: User) -> None:
    services.group_create(name="g1")
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError), transaction.atomic():
        # The first role exists, the second does not: nothing of the call may remain.
        services.acl_modify(path="/", roles=["PVEAuditor", "Nope"], groups=["g1"])
    assert not AclEntry.objects.exists()
    assert AuditEvent.objects.count() == before


def test_acl_modify_updates_propagate_of_an_existing_grant(ann: User) -> None:
    assert services.acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"]) == 1
    assert services.acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"]) == 0
    assert (
        services.acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"], propagate=False)
        == 1
    )
    assert AclEntry.objects.get().propagate is False


def test_acl_remove_subject_for_realm_sync(ann: User) -> None:
    token, _secret = services.token_create(user=ann, name="ci")
    group = services.group_create(name="corp-devs", members=[ann])
    services.acl_modify(path="/", roles=["PVEAuditor"], users=["ann@pve"], groups=["corp-devs"])
    services.acl_modify(path="/vms", roles=["PVEVMUser"], users=["ann@pve"], tokens=["ann@pve!ci"])
    assert services.acl_remove_subject(group=group) == 1
    assert services.acl_remove_subject(token=token) == 1
    assert services.acl_remove_subject(user=ann) == 2
    assert not AclEntry.objects.exists()
    assert not engine.has_privileges(ann, "/", "Sys.Audit")
    assert AuditEvent.objects.filter(action="access.acl_subject_removed").count() == 3
    with pytest.raises(ValueError, match="exactly one"):
        services.acl_remove_subject(user=ann, group=group)


def test_token_names_and_duplicates(ann: User) -> None:
    services.token_create(user=ann, name="ci")
    with pytest.raises(ValidationError, match="already exists"):
        services.token_create(user=ann, name="ci")
    with pytest.raises(ValidationError, match="invalid token name"):
        services.token_create(user=ann, name="9lives")
    assert ApiToken.objects.count() == 1


def test_role_delete_of_a_missing_role(ann: User) -> None:
    with pytest.raises(ValidationError, match="role 'Nope' does not exist"):
        services.role_delete(name="Nope")
