"""A backup that fails (guest locked, storage full, another task error) is tried again as the
retry policy of its kind says and ends with a clear reason, told by mail to the tenant's
contact and to who asked; backups made on PVE directly appear in the portal through the
storage content sync, and leave when PVE no longer lists them."""

import time

import pytest
from django.core import mail

from apps.backups.models import Backup, BackupSchedule
from apps.backups.services import backups_sync, schedule_run
from apps.identity.models import User
from apps.operations.models import Operation
from apps.tenancy.models import Tenant
from tests.backups.conftest import make_vm
from tests.guests.conftest import wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quick_retries(settings):
    settings.BACKUP_LOCKED_RETRIES = 2
    settings.BACKUP_LOCKED_RETRY_SECONDS = 0.2


def lock(pvesim_root, vm, how: str = "snapshot") -> None:
    pvesim_root.nodes(vm.node).qemu(vm.vmid).config.put(lock=how)


def unlock(pvesim_root, vm) -> None:
    pvesim_root.nodes(vm.node).qemu(vm.vmid).config.put(delete="lock", skiplock=1)


def test_a_locked_guest_is_retried_then_fails_clearly(
    admin_api, small, worker, pvesim_root, quick_retries
) -> None:
    vm = make_vm(admin_api)
    lock(pvesim_root, vm)
    response = admin_api.post(f"/api/v1/guests/{vm.vmid}/backups/", {}, format="json")
    operation = wait_until_terminal(response.json()["id"], timeout=60)
    assert operation.state == "failed"
    assert operation.error == (
        f"guest {vm.vmid} stayed locked (snapshot): backup tried 3 times, 0.2 s apart"
    )
    assert operation.params["locked_tries"] == 2
    vzdump = operation.steps.get(name="backup_vzdump")
    assert f"ERROR: Backup of VM {vm.vmid} failed - VM is locked (snapshot)" in vzdump.task_log
    assert f"-- guest {vm.vmid} locked (snapshot); trying again" in vzdump.task_log
    assert not Backup.objects.exists()
    unlock(pvesim_root, vm)


def test_a_lock_that_goes_away_lets_the_retry_succeed(
    admin_api, small, worker, pvesim_root, settings
) -> None:
    settings.BACKUP_LOCKED_RETRIES, settings.BACKUP_LOCKED_RETRY_SECONDS = 5, 0.5
    vm = make_vm(admin_api)
    lock(pvesim_root, vm)
    response = admin_api.post(f"/api/v1/guests/{vm.vmid}/backups/", {}, format="json")
    operation = Operation.objects.get(pk=response.json()["id"])
    deadline = time.monotonic() + 30
    while not operation.params.get("locked_tries") and time.monotonic() < deadline:
        time.sleep(0.05)
        operation.refresh_from_db()
    unlock(pvesim_root, vm)
    operation = wait_until_terminal(str(operation.pk), timeout=60)
    assert operation.state == "succeeded", operation.error
    assert operation.params["locked_tries"] >= 1
    assert Backup.objects.filter(vmid=vm.vmid, vanished_at__isnull=True).count() == 1


def test_a_failed_scheduled_backup_is_mailed_to_the_contact(
    admin_api, acme, small, worker, pvesim_root, quick_retries
) -> None:
    Tenant.objects.filter(pk=acme.pk).update(contact_email="ops@acme.example")
    vm = make_vm(admin_api)
    schedule = BackupSchedule.objects.get(
        pk=admin_api.post(
            "/api/v1/backup-schedules/",
            {"vmid": vm.vmid, "schedule": "02:30", "keep_last": 2},
            format="json",
        ).json()["id"]
    )
    lock(pvesim_root, vm, "migrate")
    [operation] = schedule_run(schedule_id=schedule.pk, now=schedule.next_run_at)
    assert wait_until_terminal(str(operation.pk), timeout=60).state == "failed"
    [message] = mail.outbox
    assert message.to == ["ops@acme.example"]
    assert message.subject == f"[{acme.name}] Scheduled backup of {vm.name} ({vm.vmid}) failed"
    assert "stayed locked (migrate)" in message.body
    unlock(pvesim_root, vm)


def test_a_full_storage_is_retried_then_fails_clearly(
    admin_api, small, worker, pvesim_root, pvesim_faults, settings
) -> None:
    settings.BACKUP_STORAGE_FULL_RETRIES, settings.BACKUP_STORAGE_FULL_RETRY_SECONDS = 1, 0.2
    vm = make_vm(admin_api)
    local = pvesim_root.nodes(vm.node).storage("local").status.get()
    pvesim_faults(fill_storages={"local": local["total"]})  # other files take all its room
    response = admin_api.post(f"/api/v1/guests/{vm.vmid}/backups/", {}, format="json")
    operation = wait_until_terminal(response.json()["id"], timeout=60)
    assert operation.state == "failed"
    assert operation.error == "storage 'local' is full: backup tried 2 times, 0.2 s apart"
    assert operation.params["storage_full_tries"] == 1
    vzdump = operation.steps.get(name="backup_vzdump")
    assert vzdump.task_log.count("ERROR: job failed with err -28 - No space left on device") == 2
    assert "-- storage 'local' full; trying again" in vzdump.task_log
    assert not Backup.objects.exists()


def test_a_task_error_is_retried_and_a_later_try_succeeds(
    admin_api, small, worker, pvesim_faults, settings
) -> None:
    settings.BACKUP_TASK_ERROR_RETRIES, settings.BACKUP_TASK_ERROR_RETRY_SECONDS = 2, 0.2
    vm = make_vm(admin_api)
    pvesim_faults(fail_tasks={"count": 1, "message": "storage hiccup"})  # the vzdump's first try
    response = admin_api.post(f"/api/v1/guests/{vm.vmid}/backups/", {}, format="json")
    operation = wait_until_terminal(response.json()["id"], timeout=60)
    assert operation.state == "succeeded", operation.error
    assert operation.params["task_error_tries"] == 1
    vzdump = operation.steps.get(name="backup_vzdump")
    assert "TASK ERROR: storage hiccup" in vzdump.task_log
    assert "-- vzdump failed (storage hiccup); trying again" in vzdump.task_log
    assert vzdump.task_log.endswith("TASK OK")
    assert Backup.objects.filter(vmid=vm.vmid, vanished_at__isnull=True).count() == 1


def test_a_failed_on_demand_backup_is_mailed_to_the_contact_and_who_asked(
    admin_api, acme, small, worker, pvesim_faults, settings
) -> None:
    settings.BACKUP_TASK_ERROR_RETRIES, settings.BACKUP_TASK_ERROR_RETRY_SECONDS = 2, 0.2
    Tenant.objects.filter(pk=acme.pk).update(contact_email="ops@acme.example")
    User.objects.filter(username="alice@pve").update(email="alice@acme.example")
    vm = make_vm(admin_api)
    pvesim_faults(fail_tasks={"count": 3, "message": "storage hiccup"})
    response = admin_api.post(f"/api/v1/guests/{vm.vmid}/backups/", {}, format="json")
    operation = wait_until_terminal(response.json()["id"], timeout=60)
    assert operation.state == "failed"
    assert operation.error == "vzdump failed (storage hiccup): backup tried 3 times, 0.2 s apart"
    [message] = mail.outbox
    assert message.to == ["ops@acme.example", "alice@acme.example"]
    assert message.subject == f"[{acme.name}] Backup of {vm.name} ({vm.vmid}) failed"
    assert message.body == f"Operation {operation.pk}: {operation.error}"


def test_a_failed_backup_with_nobody_to_tell_sends_no_mail(
    admin_api, small, worker, pvesim_faults, settings
) -> None:
    settings.BACKUP_TASK_ERROR_RETRIES = 0
    vm = make_vm(admin_api)
    pvesim_faults(fail_tasks={"count": 1, "message": "storage hiccup"})
    response = admin_api.post(f"/api/v1/guests/{vm.vmid}/backups/", {}, format="json")
    operation = wait_until_terminal(response.json()["id"], timeout=60)
    assert operation.error == "vzdump failed (storage hiccup): backup tried once"
    assert mail.outbox == []


def test_backups_made_on_pve_appear_and_go(
    admin_api, acme, cluster, small, worker, pvesim_root
) -> None:
    vm = make_vm(admin_api)
    node = pvesim_root.nodes(vm.node)
    # An admin backs the tenant's VM and a template the portal does not sell up on PVE.
    for vmid in (vm.vmid, 9000):
        _wait_task(pvesim_root, vm.node, node.vzdump.post(vmid=vmid, storage="local"))
    assert backups_sync(cluster=cluster) == 1
    [backup] = Backup.objects.filter(vanished_at__isnull=True)
    assert (backup.vmid, backup.tenant, backup.guest_id, backup.node) == (
        vm.vmid,
        acme,
        vm.pk,
        vm.node,
    )
    assert [b["id"] for b in admin_api.get("/api/v1/backups/").json()] == [backup.pk]
    # A second sync finds nothing new; one after PVE deleted it flags it gone.
    assert backups_sync(cluster=cluster) == 0
    _wait_task(pvesim_root, vm.node, node.storage("local").content(backup.volid).delete())
    backups_sync(cluster=cluster)
    backup.refresh_from_db()
    assert backup.vanished_at is not None
    assert admin_api.get("/api/v1/backups/").json() == []


def _wait_task(pvesim_root, node: str, upid: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if pvesim_root.nodes(node).tasks(upid).status.get()["status"] == "stopped":
            return
        time.sleep(0.05)
    raise AssertionError(f"task {upid} did not end")
