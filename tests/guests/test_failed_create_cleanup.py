"""What a failed create made on PVE is cleaned up by recorded steps that follow their tasks: a
running guest is stopped first, and a destroy that fails leaves the guest flagged for an
operator (counted with the sizes PVE gave it), never marked destroyed while PVE still has it.
A resize that failed half way counts what PVE took."""

import pytest

from apps.guests.models import Guest
from apps.guests.selectors import tenant_guest_usage
from apps.tenancy.models import Plan, Reservation
from apps.tenancy.resources import Resources
from tests.guests.test_lost_answers import advance_until, create, drive, step_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_worker():
    from portal.celery import app as celery_app

    yield
    celery_app.control.purge()


def on_pve(pvesim_root) -> dict[int, dict]:
    return {int(g["vmid"]): g for g in pvesim_root.cluster.resources.get(type="vm")}


def test_a_destroy_that_fails_in_the_cleanup_flags_the_guest_instead_of_hiding_it(
    alice_api, acme, small, pvesim_root, pvesim_faults
) -> None:
    operation_id, guest = create(alice_api, name="stays", template=9000)
    advance_until(operation_id, lambda: step_of(operation_id, "guest_clone").upid)
    # The clone runs; then configuring fails, and so does the next task: the cleanup's destroy.
    pvesim_faults(
        rules=[{"match": r"^PUT /nodes/[^/]+/qemu/\d+/config$", "error_rate": 1.0}],
        fail_tasks={"count": 1, "message": "storage hiccup"},
    )

    operation = drive(operation_id)

    assert operation.state == "failed"
    assert operation.error.startswith("simulated failure; cleanup failed: storage hiccup")
    assert operation.error.endswith(f"guest {guest.vmid} needs an operator")
    flagged = Guest.objects.get(pk=guest.pk)
    assert (flagged.status, flagged.vanished_at) == ("error", None)
    assert guest.vmid in on_pve(pvesim_root)  # known to the portal, not an orphan
    # Not configured: it counts with the template's sizes PVE gave it, not the plan's.
    pve = on_pve(pvesim_root)[guest.vmid]
    assert (flagged.cores, flagged.memory_mb) == (pve["maxcpu"], pve["maxmem"] // 1024**2)
    assert not Reservation.objects.filter(released_at__isnull=True).exists()


def test_a_guest_that_started_before_the_create_failed_is_stopped_then_destroyed(
    alice_api, acme, small, pvesim_root, pvesim_faults
) -> None:
    # PVE starts the guest, but the portal cannot read its status afterwards.
    pvesim_faults(
        rules=[{"match": r"^GET /nodes/[^/]+/qemu/\d+/status/current$", "error_rate": 1.0}]
    )
    operation_id, guest = create(alice_api, name="runs", template=9000)

    operation = drive(operation_id)

    assert operation.state == "failed"
    assert operation.error == "simulated failure"
    steps = dict(operation.steps.values_list("name", "state"))
    assert steps["guest_discard_stop"] == steps["guest_destroy"] == "done"
    assert ":qmstop:" in step_of(operation_id, "guest_discard_stop").upid
    assert Guest.objects.get(pk=guest.pk).status == "destroyed"
    assert guest.vmid not in on_pve(pvesim_root)
    assert tenant_guest_usage(tenant=acme) == Resources()


def test_a_create_that_never_reached_pve_leaves_nothing(
    alice_api, acme, small, pvesim_faults
) -> None:
    pvesim_faults(rules=[{"match": r"^POST /nodes/[^/]+/qemu/9000/clone$", "error_rate": 1.0}])
    operation_id, guest = create(alice_api, name="never", template=9000)

    operation = drive(operation_id)

    assert (operation.state, operation.error) == ("failed", "simulated failure")
    assert not Guest.objects.filter(pk=guest.pk).exists()
    assert not Reservation.objects.filter(released_at__isnull=True).exists()


def test_a_resize_that_failed_after_pve_took_the_new_cores_counts_them(
    alice_api, acme, small, pvesim_root, pvesim_faults
) -> None:
    operation_id, guest = create(alice_api, name="grows", template=9000)
    assert drive(operation_id).state == "succeeded"
    Plan.objects.create(name="Medium", slug="medium", cores=3, memory_mb=3072, disk_gb=60)
    pvesim_faults(rules=[{"match": r"^PUT /nodes/[^/]+/qemu/\d+/resize$", "error_rate": 1.0}])

    response = alice_api.post(f"/api/v1/guests/{guest.vmid}/resize/", {"plan": "medium"})
    operation = drive(response.json()["id"])

    assert operation.state == "failed"
    pve = on_pve(pvesim_root)[guest.vmid]
    resized = Guest.objects.get(pk=guest.pk)
    assert (pve["maxcpu"], pve["maxmem"] // 1024**2) == (3, 3072)  # PVE took them
    assert (resized.cores, resized.memory_mb, resized.disk_gb) == (3, 3072, 40)
    assert tenant_guest_usage(tenant=acme) == Resources(
        guests=1, vcpus=3, memory_mb=3072, disk_gb=40
    )
