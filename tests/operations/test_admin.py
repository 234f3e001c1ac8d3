"""The operations back-office: lists, step detail, cancel, retry."""

import time

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from apps.access.services import acl_modify
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register
from apps.guests.models import Guest
from apps.guests.services import guest_power, guests_sync
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.operations.runner import operation_advance
from apps.operations.services import operation_cancel, operation_create, operation_retry
from apps.tenancy.models import Tenant
from tests.services.pve_access import make_token

pytestmark = pytest.mark.django_db


def wait_for_pve_task(root, upid: str, timeout: float = 30.0) -> None:
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while root.nodes(node).tasks(upid).status.get()["status"] != "stopped":
        assert time.monotonic() < deadline, f"task {upid} did not finish"
        time.sleep(0.05)


def run_to_the_end(operation: Operation) -> None:
    """What the worker does, in this thread: advance until the operation needs no more looks."""
    deadline = time.monotonic() + 30
    while (wait := operation_advance(operation_id=str(operation.pk))) is not None:
        assert time.monotonic() < deadline, f"operation {operation.pk} did not finish"
        time.sleep(wait)


def test_operations_and_guests_pages_and_the_cancel_action(client) -> None:
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    operation = operation_create(
        kind="guest.start",
        cluster=cluster,
        target="/vms/100",
        actor=Actor.system(),
        steps=[("guest_power", {"action": "start"})],
    )

    assert "/vms/100" in client.get("/admin/operations/operation/").content.decode()
    detail = client.get(f"/admin/operations/operation/{operation.pk}/change/").content.decode()
    assert "guest_power" in detail
    assert client.get("/admin/guests/guest/").status_code == 200
    assert client.get("/admin/guests/image/").status_code == 200

    client.post(
        "/admin/operations/operation/", {"action": "cancel", "_selected_action": [operation.pk]}
    )
    assert Operation.objects.get(pk=operation.pk).cancel_requested_by == "op@pve"


@pytest.fixture
def operator_client(client):
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    return client


@pytest.fixture
def guest() -> Guest:
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    tenant = Tenant.objects.create(name="a", slug="a")
    return Guest.objects.create(
        vmid=100, cluster=cluster, node="pve1", type="lxc", tenant=tenant, status="stopped"
    )


def ended(guest: Guest, kind: str, steps: list, state: str = "failed") -> Operation:
    operation = operation_create(
        kind=kind,
        cluster=guest.cluster,
        guest=guest,
        tenant=guest.tenant,
        target=guest.acl_path,
        actor=Actor.system(),
        steps=steps,
    )
    Operation.objects.filter(pk=operation.pk).update(state=state, error="PVE said no")
    return operation


def retry(client, operation: Operation) -> str:
    response = client.post(
        "/admin/operations/operation/",
        {"action": "retry", "_selected_action": [operation.pk]},
        follow=True,
    )
    return response.content.decode()


def test_retry_makes_a_new_operation_with_the_same_steps(operator_client, guest) -> None:
    failed = ended(guest, "guest.reboot", [("guest_power", {"action": "reboot"})])

    page = retry(operator_client, failed)

    retried = Operation.objects.exclude(pk=failed.pk).get()
    assert f"/vms/100: retried as {retried.pk}" in page
    assert (retried.kind, retried.target, retried.guest, retried.tenant) == (
        "guest.reboot",
        "/vms/100",
        guest,
        guest.tenant,
    )
    assert (retried.state, retried.actor) == ("pending", "op@pve")
    assert retried.params == {"steps": [{"action": "reboot"}], "retry_of": str(failed.pk)}
    assert list(retried.steps.values_list("name", "state")) == [("guest_power", "pending")]
    assert AuditEvent.objects.filter(
        action="operations.retry",
        actor="op@pve",
        target="/vms/100",
        detail={"operation": str(retried.pk), "retry_of": str(failed.pk)},
    ).exists()
    assert Operation.objects.get(pk=failed.pk).state == "failed"  # the original stays as it was

    assert "a guest.reboot of guest 100 is already queued or running" in retry(
        operator_client, failed
    )
    assert Operation.objects.count() == 2


def test_a_retried_delete_does_not_stop_a_stopped_guest_again(operator_client, guest) -> None:
    cancelled = ended(
        guest,
        "guest.delete",
        [("guest_power", {"action": "stop"}), ("guest_destroy", {})],
        state="cancelled",
    )

    retry(operator_client, cancelled)

    retried = Operation.objects.exclude(pk=cancelled.pk).get()
    assert retried.kind == "guest.delete"
    assert list(retried.steps.values_list("name", flat=True)) == ["guest_destroy"]


@pytest.mark.parametrize(
    ("kind", "steps", "state", "reason"),
    [
        (
            "guest.create",
            [("guest_clone", {"template_vmid": 9000})],
            "failed",
            "a guest.create operation cannot be retried: it needs quota reserved anew",
        ),
        (
            "guest.resize",
            [("guest_power", {"action": "stop"})],
            "cancelled",
            "a guest.resize operation cannot be retried: it needs quota reserved anew",
        ),
        (
            "guest.reinstall",
            [("guest_destroy", {})],
            "failed",
            "only power actions and guest.delete are",
        ),
        (
            "guest.start",
            [("guest_power", {"action": "start"})],
            "succeeded",
            "the operation is succeeded: only failed or cancelled ones are retried",
        ),
        (
            "guest.start",
            [("guest_power", {"action": "start"})],
            "running",
            "the operation is running: only failed or cancelled ones are retried",
        ),
    ],
)
def test_retry_refuses_what_cannot_run_again_from_scratch(
    operator_client, guest, kind, steps, state, reason
) -> None:
    operation = ended(guest, kind, steps, state=state)

    assert reason in retry(operator_client, operation)
    assert Operation.objects.count() == 1
    assert not AuditEvent.objects.filter(action="operations.retry").exists()


def test_retry_refuses_a_guest_that_is_gone(operator_client, guest) -> None:
    failed = ended(guest, "guest.start", [("guest_power", {"action": "start"})])
    Guest.objects.filter(pk=guest.pk).update(vanished_at=timezone.now())

    assert "the guest no longer exists" in retry(operator_client, failed)
    assert Operation.objects.count() == 1


def test_retry_needs_the_privilege_of_the_kind(guest) -> None:
    failed = ended(guest, "guest.delete", [("guest_destroy", {})])
    alice = user_create(userid="alice@pve", password="x", tenant=guest.tenant)
    acl_modify(path="/vms/100", roles=["PVEVMUser"], users=["alice@pve"])

    with pytest.raises(PermissionDenied, match=r"/vms/100, VM.Allocate"):
        operation_retry(operation=failed, actor=alice)
    assert Operation.objects.count() == 1


def test_a_retried_power_action_runs_again_against_pvesim(pvesim, pvesim_root) -> None:
    token = make_token(pvesim_root)
    cluster = cluster_register(
        name="sim",
        api_addresses=[f"{pvesim.host}:{pvesim.port}"],
        token_id=token.token_id,
        token_secret=token.secret,
        fingerprint=pvesim.fingerprint,
    )
    vmid = int(pvesim_root.cluster.nextid.get())
    clone = pvesim_root.nodes("pve1").qemu(9000).clone.post(newid=vmid, name=f"vm{vmid}")
    wait_for_pve_task(pvesim_root, clone)
    guests_sync(cluster=cluster)
    vm = Guest.objects.get(vmid=vmid)
    operator = user_create(userid="op@pve", password="x", is_staff=True)
    start = guest_power(guest=vm, action="start", actor=operator)
    operation_cancel(operation=start, actor=operator)
    run_to_the_end(start)
    assert Operation.objects.get(pk=start.pk).state == "cancelled"

    retried = operation_retry(operation=start, actor=operator)
    run_to_the_end(retried)

    retried.refresh_from_db()
    assert retried.state == "succeeded", retried.error
    assert ":qmstart:" in retried.steps.get().upid
    assert pvesim_root.nodes("pve1").qemu(vmid).status.current.get()["status"] == "running"
    wait_for_pve_task(pvesim_root, pvesim_root.nodes("pve1").qemu(vmid).status.stop.post())
