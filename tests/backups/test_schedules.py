"""Backup schedules on pvesim: runs as beat makes them (the clock moved, not waited for), PVE's
prune rules applied after each successful run, protected backups never pruned, the plan's
per-guest limit, and bad input refused without a trace."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.backups.models import Backup, BackupSchedule
from apps.backups.services import schedule_run
from apps.backups.tasks import run_due_schedules
from apps.operations.models import Operation
from tests.backups.conftest import back_up, make_vm, run
from tests.guests.conftest import wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


def run_when_due(schedule: BackupSchedule) -> list[Operation]:
    """What beat does at the schedule's next time: one run, followed to its end."""
    schedule.refresh_from_db()
    operations = schedule_run(schedule_id=schedule.pk, now=schedule.next_run_at)
    return [wait_until_terminal(str(op.pk), timeout=60) for op in operations]


def live_backups(vm) -> list[Backup]:
    return list(Backup.objects.filter(vmid=vm.vmid, vanished_at__isnull=True))


def on_pve(pvesim_root, vm) -> set[str]:
    listing = pvesim_root.nodes(vm.node).storage("local").content.get(content="backup")
    return {v["volid"] for v in listing if v.get("vmid") == vm.vmid}


def test_keep_last_two_over_three_runs(admin_api, small, worker, pvesim_root) -> None:
    vm = make_vm(admin_api)
    response = admin_api.post(
        "/api/v1/backup-schedules/",
        {"vmid": vm.vmid, "schedule": "mon..sun 02:30", "keep_last": 2},
        format="json",
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["vmid"], created["keep_last"], created["storage"]) == (vm.vmid, 2, "")
    schedule = BackupSchedule.objects.get(pk=created["id"])
    local_next = timezone.localtime(schedule.next_run_at)
    assert (local_next.hour, local_next.minute) == (2, 30)

    made = []
    for _ in range(3):
        [operation] = run_when_due(schedule)
        assert operation.state == "succeeded", operation.error
        assert [s.name for s in operation.steps.all()] == ["backup_vzdump", "backup_prune"]
        made.append(operation)
    remaining = live_backups(vm)
    assert len(remaining) == 2
    # The two newest stay, on PVE as in the portal.
    assert {b.volid for b in remaining} == on_pve(pvesim_root, vm)
    schedule.refresh_from_db()
    assert schedule.last_error == ""
    assert schedule.next_run_at - schedule.last_run_at == timedelta(days=1)


def test_a_protected_backup_survives_pruning(admin_api, small, worker, pvesim_root) -> None:
    vm = make_vm(admin_api)
    back_up(admin_api, vm, protected=True, notes="golden")
    [golden] = live_backups(vm)
    schedule = BackupSchedule.objects.get(
        pk=admin_api.post(
            "/api/v1/backup-schedules/",
            {"vmid": vm.vmid, "schedule": "*/6:00", "keep_last": 1},
            format="json",
        ).json()["id"]
    )
    for _ in range(2):
        [operation] = run_when_due(schedule)
        assert operation.state == "succeeded", operation.error
    remaining = live_backups(vm)
    # keep-last=1 keeps the newest; the protected one is neither counted nor removed.
    assert len(remaining) == 2
    assert golden.volid in {b.volid for b in remaining}
    assert on_pve(pvesim_root, vm) == {b.volid for b in remaining}
    # Deleting it is refused while protected; unprotected, it goes.
    url = f"/api/v1/backups/{golden.pk}/"
    assert admin_api.delete(url).status_code == 400
    run(admin_api.patch(url, {"protected": False}, format="json"))
    run(admin_api.delete(url))
    assert golden.volid not in on_pve(pvesim_root, vm)
    assert admin_api.get(url).status_code == 404


def test_a_tenant_wide_schedule_by_beat(admin_api, acme, small, worker) -> None:
    first, second = make_vm(admin_api, "web1"), make_vm(admin_api, "web2")
    response = admin_api.post(
        "/api/v1/backup-schedules/", {"schedule": "02:30", "keep_daily": 3}, format="json"
    )
    assert response.status_code == 201, response.content
    schedule = BackupSchedule.objects.get(pk=response.json()["id"])
    assert (schedule.tenant, schedule.guest) == (acme, None)
    # Not due yet: beat's task starts nothing.
    assert run_due_schedules() == []
    BackupSchedule.objects.filter(pk=schedule.pk).update(
        next_run_at=timezone.now() - timedelta(seconds=1)
    )
    assert run_due_schedules() == [schedule.pk]
    # The worker runs the schedule: one backup per guest of the tenant.
    operations = Operation.objects.filter(kind="guest.backup")
    deadline = time.monotonic() + 60
    while operations.count() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    for operation in operations:
        assert wait_until_terminal(str(operation.pk), timeout=60).state == "succeeded"
    assert {b.vmid for b in Backup.objects.filter(vanished_at__isnull=True)} == {
        first.vmid,
        second.vmid,
    }
    schedule.refresh_from_db()
    assert schedule.next_run_at > timezone.now()


def test_the_plan_limits_what_a_schedule_keeps(admin_api, small, worker) -> None:
    vm = make_vm(admin_api)
    # `small` allows 5 backups per guest: a schedule keeping 7 cannot run for it.
    schedule = BackupSchedule.objects.get(
        pk=admin_api.post(
            "/api/v1/backup-schedules/",
            {"vmid": vm.vmid, "schedule": "daily", "keep_daily": 7},
            format="json",
        ).json()["id"]
    )
    assert run_when_due(schedule) == []
    schedule.refresh_from_db()
    assert "allows 5 backup(s) per guest and the schedule keeps 7" in schedule.last_error
    assert not Operation.objects.filter(kind="guest.backup").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schedule": "mon..fry 02:30"}, "schedule"),
        ({"schedule": "25:00"}, "schedule"),
        ({"schedule": "02:30", "mode": "later"}, "mode"),
        ({"schedule": "02:30", "keep_last": -1}, "keep_last"),
        ({"schedule": "02:30", "vmid": 999999}, None),
    ],
)
def test_bad_schedules_change_nothing(admin_api, small, body, field) -> None:
    response = admin_api.post("/api/v1/backup-schedules/", body, format="json")
    if field is None:
        assert response.status_code == 404
    else:
        assert response.status_code == 400, response.content
        assert field in response.json()
    assert not BackupSchedule.objects.exists()
