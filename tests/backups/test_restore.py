"""Restore on pvesim: into a new guest (quota-checked, new VMID, started) and over the same
guest (typed confirmation, stopped first, started again); a restore over quota is refused and
changes nothing; a failed restore leaves no half guest; a deleted guest's backups stay listed
and restorable."""

import pytest

from apps.backups.models import Backup
from apps.guests.models import Guest
from apps.operations.models import Operation
from apps.tenancy.models import Reservation
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_set
from tests.backups.conftest import ROOMY, back_up, make_vm, run
from tests.guests.conftest import wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


def restore(client, backup: Backup, **body):
    return client.post(f"/api/v1/backups/{backup.pk}/restore/", body, format="json")


def test_restore_to_a_new_guest(admin_api, acme, small, worker, pvesim_root) -> None:
    vm = make_vm(admin_api)
    back_up(admin_api, vm, notes="nightly")
    backup = Backup.objects.get(vmid=vm.vmid)
    assert (backup.tenant, backup.cores, backup.disk_gb) == (acme, vm.cores, vm.disk_gb)

    operation = run(restore(admin_api, backup, target="new", name="web1-copy"))
    copy = Guest.objects.get(pk=operation.guest_id)
    assert copy.vmid != vm.vmid
    assert (copy.name, copy.tenant, copy.status) == ("web1-copy", acme, "running")
    assert (copy.cores, copy.memory_mb, copy.disk_gb) == (vm.cores, vm.memory_mb, vm.disk_gb)
    config = pvesim_root.nodes(copy.node).qemu(copy.vmid).config.get()
    assert config["name"] == "web1-copy"
    tasks = [s.upid for s in operation.steps.all() if s.name == "guest_restore"]
    assert ":qmrestore:" in tasks[0]
    # In the tenant's pool, so its grants reach the copy.
    members = pvesim_root.pools(acme.slug).get()["members"]
    assert copy.vmid in {m.get("vmid") for m in members}
    assert not Reservation.objects.filter(released_at__isnull=True).exists()


def test_restore_over_quota_is_refused(admin_api, acme, small, worker) -> None:
    vm = make_vm(admin_api)
    back_up(admin_api, vm)
    backup = Backup.objects.get(vmid=vm.vmid)
    # One guest's room left in vCPUs? No: the copy needs 2 and the limit leaves none.
    quota_set(tenant=acme, limits=Resources(**{**ROOMY.__dict__, "vcpus": vm.cores}))
    guests, operations = Guest.objects.count(), Operation.objects.count()
    response = restore(admin_api, backup, target="new", name="web1-copy")
    assert response.status_code == 409, response.content
    assert response.json()["exceeded"]["vcpus"]["requested"] == vm.cores
    assert (Guest.objects.count(), Operation.objects.count()) == (guests, operations)


def test_restore_over_the_same_guest(admin_api, acme, small, worker, pvesim_root) -> None:
    vm = make_vm(admin_api)
    back_up(admin_api, vm)
    backup = Backup.objects.get(vmid=vm.vmid)
    # The guest changes after the backup: its description.
    pvesim_root.nodes(vm.node).qemu(vm.vmid).config.put(description="changed later")

    # A wrong or missing confirmation changes nothing.
    for confirm in ("", "web2"):
        response = restore(admin_api, backup, target="same", confirm=confirm)
        assert response.status_code == 400, response.content
        assert "confirm" in response.json()
    assert not Operation.objects.filter(kind="guest.restore").exists()

    operation = run(restore(admin_api, backup, target="same", confirm=vm.name))
    assert [s.name for s in operation.steps.all()] == [
        "guest_power",
        "guest_restore",
        "guest_power",
    ]
    config = pvesim_root.nodes(vm.node).qemu(vm.vmid).config.get()
    assert "description" not in config or config["description"] != "changed later"
    status = pvesim_root.nodes(vm.node).qemu(vm.vmid).status.current.get()
    assert status["status"] == "running"
    assert Guest.objects.filter(vmid=vm.vmid, vanished_at__isnull=True).count() == 1


def test_a_failed_restore_leaves_no_half_guest(admin_api, small, worker, pvesim_faults) -> None:
    vm = make_vm(admin_api)
    back_up(admin_api, vm)
    backup = Backup.objects.get(vmid=vm.vmid)
    pvesim_faults(fail_tasks={"count": 1, "message": "broken archive"})
    response = restore(admin_api, backup, target="new", name="web1-copy")
    assert response.status_code == 202, response.content
    operation = wait_until_terminal(response.json()["id"], timeout=60)
    assert operation.state == "failed"
    assert "broken archive" in operation.error
    made = Guest.objects.filter(pk=operation.guest_id, vanished_at__isnull=True)
    assert operation.guest_id is None or not made.exists()
    assert not Reservation.objects.filter(released_at__isnull=True).exists()


def test_a_deleted_guests_backups_stay(admin_api, acme, small, worker) -> None:
    vm = make_vm(admin_api)
    back_up(admin_api, vm)
    run(admin_api.delete(f"/api/v1/guests/{vm.vmid}/"))
    listed = admin_api.get("/api/v1/backups/").json()
    assert [(b["vmid"], b["guest_exists"], b["tenant"]) for b in listed] == [
        (vm.vmid, False, acme.slug)
    ]
    backup = Backup.objects.get(pk=listed[0]["id"])
    # Counted until deleted; restorable into a new guest, not "over" one that is gone.
    quota = admin_api.get(f"/api/v1/tenants/{acme.slug}/quota/").json()
    assert quota["used"]["backup_gb"] >= 1
    response = restore(admin_api, backup, target="same", confirm=vm.name)
    assert response.status_code == 400
    operation = run(restore(admin_api, backup, target="new", name="web1"))
    assert Guest.objects.get(pk=operation.guest_id).status == "running"
