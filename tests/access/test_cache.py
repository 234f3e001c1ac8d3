"""The compiled model is cached per process and replaced after every committed change."""

import threading
from collections.abc import Callable

import pytest
from django.core.cache import cache
from django.db import connection, transaction

from apps.access import compiled, engine
from apps.access.models import AclEntry, Group
from apps.access.services import acl_delete, acl_modify, group_create, role_create, role_modify
from apps.identity.models import User

MakeUser = Callable[..., User]


def _in_other_connection(work: Callable[[], object]) -> None:
    """Run `work` in a thread, hence on its own database connection, and wait for it."""
    failures: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # re-raised in the test thread
            failures.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if failures:
        raise failures[0]


def _grant_check_and_roll_back(user: User, *, path: str) -> None:
    """Grant Administrator in a transaction (or savepoint), see it, then roll it back."""
    with transaction.atomic():
        acl_modify(path="/", roles=["Administrator"], users=[user.username])
        assert engine.has_privileges(user, path, "Sys.Audit")  # visible inside
        raise RuntimeError("roll back")


@pytest.mark.django_db
def test_a_change_is_seen_by_the_next_check_in_the_same_transaction(
    make_user: MakeUser,
) -> None:
    ann = make_user("ann@pve")
    assert not engine.has_privileges(ann, "/vms/100", "VM.Audit")
    acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"])
    assert engine.has_privileges(ann, "/vms/100", "VM.Audit")
    role_create(name="Watcher", privileges=["Sys.Audit"])
    acl_modify(path="/nodes", roles=["Watcher"], users=["ann@pve"])
    assert engine.privileges(ann, "/nodes/pve1") == {"Sys.Audit"}
    role_modify(name="Watcher", privileges=["Sys.Syslog"], append=True)
    assert engine.privileges(ann, "/nodes/pve1") == {"Sys.Audit", "Sys.Syslog"}


@pytest.mark.django_db
def test_membership_set_directly_invalidates(make_user: MakeUser) -> None:
    """The realm sync sets Group.members itself; the m2m hook must catch that."""
    ann = make_user("ann@pve")
    group_create(name="staff")
    acl_modify(path="/", roles=["PVEAuditor"], groups=["staff"])
    assert not engine.has_privileges(ann, "/", "Sys.Audit")
    Group.objects.get(name="staff").members.add(ann)
    assert engine.has_privileges(ann, "/", "Sys.Audit")
    ann.access_groups.clear()  # the reverse side too
    assert not engine.has_privileges(ann, "/", "Sys.Audit")


@pytest.mark.django_db(transaction=True)
def test_commit_bumps_the_shared_version_and_checks_then_cost_no_query(
    make_user: MakeUser, django_assert_num_queries
) -> None:
    ann = make_user("ann@pve")
    before = compiled.shared_version()
    acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"])
    assert compiled.shared_version() > before
    assert engine.has_privileges(ann, "/vms/100", "VM.Audit")  # builds the model once
    with django_assert_num_queries(0):
        for vmid in range(100, 200):
            assert engine.has_privileges(ann, f"/vms/{vmid}", "VM.Audit")


@pytest.mark.django_db(transaction=True)
def test_changes_committed_by_another_connection_are_seen(make_user: MakeUser) -> None:
    ann = make_user("ann@pve")
    group_create(name="ops")
    acl_modify(path="/nodes", roles=["PVESysAdmin"], groups=["ops"])
    assert not engine.has_privileges(ann, "/storage/local", "Datastore.Audit")  # cached now
    _in_other_connection(
        lambda: acl_modify(path="/storage", roles=["PVEDatastoreUser"], users=["ann@pve"])
    )
    assert engine.has_privileges(ann, "/storage/local", "Datastore.Audit")
    _in_other_connection(
        lambda: acl_delete(path="/storage", roles=["PVEDatastoreUser"], users=["ann@pve"])
    )
    assert not engine.has_privileges(ann, "/storage/local", "Datastore.Audit")
    assert not engine.has_privileges(ann, "/nodes/pve1", "Sys.Console")
    _in_other_connection(lambda: Group.objects.get(name="ops").members.add(ann))
    assert engine.has_privileges(ann, "/nodes/pve1", "Sys.Console")


@pytest.mark.django_db(transaction=True)
def test_another_process_bumping_the_version_forces_a_rebuild(
    make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = make_user("ann@pve")
    first = compiled.current_access()
    assert compiled.current_access() is first
    # Another process commits a grant: the row is there and the shared number moves on.
    AclEntry.objects.create(path="/", role="PVEAuditor", user=ann)
    cache.incr(compiled.VERSION_KEY)
    assert compiled.current_access() is first  # re-read at most every VERSION_RECHECK_SECONDS
    monkeypatch.setattr(compiled, "VERSION_RECHECK_SECONDS", 0)
    assert compiled.current_access() is not first
    assert engine.has_privileges(ann, "/", "Sys.Audit")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_is_forgotten(make_user: MakeUser) -> None:
    ann = make_user("ann@pve")
    with pytest.raises(RuntimeError):
        _grant_check_and_roll_back(ann, path="/")
    assert not engine.has_privileges(ann, "/", "Sys.Audit")
    with transaction.atomic():  # a later transaction must not reuse the rolled-back model
        assert not engine.has_privileges(ann, "/", "Sys.Audit")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_is_forgotten_inside_the_transaction(make_user: MakeUser) -> None:
    ann = make_user("ann@pve")
    with transaction.atomic():
        acl_modify(path="/vms", roles=["PVEAuditor"], users=["ann@pve"])
        with pytest.raises(RuntimeError):
            _grant_check_and_roll_back(ann, path="/nodes")
        assert not engine.has_privileges(ann, "/nodes", "Sys.Audit")
        assert engine.has_privileges(ann, "/vms/100", "VM.Audit")
    assert engine.has_privileges(ann, "/vms/100", "VM.Audit")
    assert not engine.has_privileges(ann, "/nodes", "Sys.Audit")


@pytest.mark.django_db(transaction=True)
def test_a_lost_version_key_means_a_rebuild(
    make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user("ann@pve")
    first = compiled.current_access()
    monkeypatch.setattr(compiled, "VERSION_RECHECK_SECONDS", 0)
    cache.delete(compiled.VERSION_KEY)
    assert compiled.current_access() is not first


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_cache_means_building_from_the_database(make_user, settings) -> None:
    """Redis down (restarted, say): checks still answer, from the database, and see every
    change at once instead of failing the request."""
    user = make_user("carol@pve")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    assert not engine.has_privileges(user, "/vms/100", "VM.Audit")
    acl_modify(path="/vms/100", roles=["PVEAuditor"], users=[user.username])
    assert engine.has_privileges(user, "/vms/100", "VM.Audit")
