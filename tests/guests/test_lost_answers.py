"""A change whose answer never came back: the worker died after sending it, or the connection
dropped or timed out. Steps look at PVE (the guest under the VMID, the node's task list) before
they send again, so nothing is made twice, nothing made is forgotten, and nothing done is
reported as failed.

The runner is driven in the test's own process (`drive`), so a test can stage what a worker
killed at the wrong moment leaves behind."""

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.guests.models import Guest
from apps.guests.services import guests_sync, images_sync
from apps.operations.models import Operation, Step
from apps.operations.runner import operation_advance
from portal.celery import app as celery_app
from tests.guests.conftest import wait_for_task

pytestmark = pytest.mark.django_db(transaction=True)

DEBIAN_CT = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"
CLONE_POST = r"^POST /nodes/[^/]+/qemu/9000/clone$"


@pytest.fixture(autouse=True)
def _no_worker():
    """No worker runs here: the messages the API enqueued are dropped afterwards."""
    yield
    celery_app.control.purge()


def drive(operation_id: str, *, timeout: float = 60.0) -> Operation:
    """Advance the operation as a worker would (again whenever it is due) until it ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation_advance(operation_id=operation_id)
        operation = Operation.objects.get(pk=operation_id)
        if operation.is_terminal:
            return operation
        time.sleep(0.05)
    raise AssertionError(f"operation {operation_id} did not finish")


def advance_until(operation_id: str, done, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the operation never got there"
        operation_advance(operation_id=operation_id)
        time.sleep(0.05)


def pve_named(pvesim_root, name: str) -> list[dict]:
    return [g for g in pvesim_root.cluster.resources.get(type="vm") if g.get("name") == name]


def create(alice_api: APIClient, **body) -> tuple[str, Guest]:
    response = alice_api.post("/api/v1/guests/", {"plan": "small", **body}, format="json")
    assert response.status_code == 202, response.content
    operation = Operation.objects.get(pk=response.json()["id"])
    return str(operation.pk), operation.guest


def step_of(operation_id: str, name: str) -> Step:
    return Step.objects.get(operation_id=operation_id, name=name)


def test_a_clone_sent_by_a_worker_that_died_before_storing_its_upid_is_adopted(
    alice_api, acme, small, pvesim_root
) -> None:
    operation_id, guest = create(alice_api, name="adopted", template=9000)
    advance_until(operation_id, lambda: step_of(operation_id, "guest_clone").upid)
    # The worker dies right after PVE accepted the clone: its UPID never reached the database.
    Step.objects.filter(operation_id=operation_id, name="guest_clone").update(upid="")

    operation = drive(operation_id)

    assert operation.state == "succeeded", operation.error
    assert Guest.objects.get(pk=guest.pk).vmid == guest.vmid  # not moved to another VMID
    assert [int(g["vmid"]) for g in pve_named(pvesim_root, "adopted")] == [guest.vmid]


def test_a_clone_whose_connection_dropped_is_sent_again_with_the_same_vmid(
    alice_api, acme, small, pvesim_root, pvesim_faults
) -> None:
    operation_id, guest = create(alice_api, name="resent", template=9000)
    pvesim_faults(rules=[{"match": CLONE_POST, "drop_rate": 1.0}])
    advance_until(operation_id, lambda: step_of(operation_id, "guest_clone").started_at)
    assert not Operation.objects.get(pk=operation_id).is_terminal  # not failed blindly
    pvesim_faults(rules=[])

    operation = drive(operation_id)

    assert operation.state == "succeeded", operation.error
    assert [int(g["vmid"]) for g in pve_named(pvesim_root, "resent")] == [guest.vmid]


def test_a_clone_that_arrived_although_its_answer_was_lost_is_not_left_behind(
    alice_api, acme, small, pvesim_root, pvesim_faults
) -> None:
    operation_id, guest = create(alice_api, name="arrived", template=9000)
    pvesim_faults(rules=[{"match": CLONE_POST, "drop_rate": 1.0}])
    advance_until(operation_id, lambda: step_of(operation_id, "guest_clone").started_at)
    pvesim_faults(rules=[])
    # ...but the request did reach PVE after all: the clone it asked for exists.
    clone = pvesim_root.nodes("pve1").qemu(9000).clone
    upid = clone.post(newid=guest.vmid, name="arrived", pool=acme.slug, target="pve1")
    assert wait_for_task(pvesim_root, upid)["exitstatus"] == "OK"

    operation = drive(operation_id)

    assert operation.state == "succeeded", operation.error
    assert [int(g["vmid"]) for g in pve_named(pvesim_root, "arrived")] == [guest.vmid]
    assert Guest.objects.get(pk=guest.pk).status == "running"


def test_a_container_create_sent_before_the_worker_died_adopts_its_task(
    alice_api, acme, small, cluster, pvesim_root
) -> None:
    images_sync(cluster=cluster)
    operation_id, guest = create(alice_api, name="ct-adopted", ostemplate=DEBIAN_CT)
    advance_until(operation_id, lambda: step_of(operation_id, "container_create").upid)
    upid = step_of(operation_id, "container_create").upid
    Step.objects.filter(operation_id=operation_id, name="container_create").update(upid="")

    operation = drive(operation_id)

    assert operation.state == "succeeded", operation.error
    assert step_of(operation_id, "container_create").upid == upid
    assert [int(g["vmid"]) for g in pve_named(pvesim_root, "ct-adopted")] == [guest.vmid]


@pytest.fixture
def own_vm(cluster, cloned_vmid) -> int:
    guests_sync(cluster=cluster)
    acl_modify(path=f"/vms/{cloned_vmid}", roles=["PVEVMAdmin"], users=["alice@pve"])
    return cloned_vmid


@pytest.fixture
def slow_answers(settings, pvesim_faults):
    """PVE answers the matching requests after the worker gave up waiting (1 s), and still
    carries them out: their parameters are in the URL."""
    settings.PROXMOX_TIMEOUT_SECONDS = 1

    def slow(match: str) -> None:
        pvesim_faults(rules=[{"match": match, "latency_ms": 1500}])

    return slow


def test_a_destroy_whose_answer_was_lost_ends_with_the_guest_gone(
    alice_api, own_vm, slow_answers, pvesim_root
) -> None:
    slow_answers(rf"^DELETE /nodes/[^/]+/qemu/{own_vm}$")
    response = alice_api.delete(f"/api/v1/guests/{own_vm}/")

    operation = drive(response.json()["id"])

    assert operation.state == "succeeded", operation.error
    assert not Guest.objects.filter(vmid=own_vm).exists()
    assert own_vm not in {int(g["vmid"]) for g in pvesim_root.cluster.resources.get(type="vm")}


def test_a_start_whose_answer_was_lost_follows_the_task_it_started(
    alice_api, own_vm, slow_answers, pvesim_root
) -> None:
    slow_answers(rf"^POST /nodes/[^/]+/qemu/{own_vm}/status/start$")
    response = alice_api.post(f"/api/v1/guests/{own_vm}/status/start/")

    operation = drive(response.json()["id"])

    assert operation.state == "succeeded", operation.error
    step = operation.steps.get()
    assert f":qmstart:{own_vm}:" in step.upid
    assert Guest.objects.get(vmid=own_vm).status == "running"
    started = pvesim_root.nodes("pve1").tasks.get(typefilter="qmstart", vmid=own_vm, source="all")
    assert len(started) == 1  # sent again only if nothing had arrived


def test_no_database_lock_is_held_while_a_request_is_on_its_way(
    alice_api, own_vm, pvesim_faults
) -> None:
    """A slow PVE must not stall the portal's database: on SQLite a transaction open over the
    request would stop every other writer (web requests, other workers) until PVE answers."""
    pvesim_faults(
        rules=[{"match": rf"^POST /nodes/[^/]+/qemu/{own_vm}/status/start$", "latency_ms": 1500}]
    )
    operation_id = alice_api.post(f"/api/v1/guests/{own_vm}/status/start/").json()["id"]

    def worker() -> None:
        try:
            operation_advance(operation_id=operation_id)
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        in_flight = Step.objects.filter(
            operation_id=operation_id, started_at__isnull=False, upid=""
        )
        advance_until_seen = time.monotonic() + 10
        while not in_flight.exists():
            assert time.monotonic() < advance_until_seen, "the request never went out"
            time.sleep(0.01)
        # Another writer takes the step's row at once (no waiting for a lock).
        with no_lock_wait(), transaction.atomic():
            assert list(Step.objects.select_for_update(nowait=True).filter(pk__in=in_flight))
    finally:
        thread.join()
    assert drive(operation_id).state == "succeeded"


@contextlib.contextmanager
def no_lock_wait() -> Iterator[None]:
    """Fail at once instead of waiting for a lock (SQLite waits 20 s by default)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 100")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 20000")
