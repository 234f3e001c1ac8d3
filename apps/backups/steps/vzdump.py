"""A backup run: vzdump for the guest once (its UPID stored first), tried again after a failure
as the retry policy of its kind says (guest locked, storage full, other task error); then the
prune of the schedule's keep rules; the guest's backups mirrored."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.backups.services.create import BACKUP_CREATE
from apps.backups.services.mirror import backups_mirror
from apps.backups.services.notify import requester_email, tenant_notify
from apps.clusters.services import client_for
from apps.guests.models import Guest
from apps.guests.steps.common import follow, pve_task, task_of
from apps.operations.models import Operation, Step
from apps.operations.runner import Done, Fail, StepResult, Wait, on_finish, step_handler
from apps.proxmox import backups as pve_backups
from apps.proxmox.client import PveClient
from apps.tenancy.services import reservation_release
from pvecore.prune import BackupEntry, PruneOptions, prune_select

# vzdump's words for a guest it could not lock (held by another job, or not got in time), for
# an archive the storage had no room for (the write hit ENOSPC), for why a guest's backup failed.
LOCKED = re.compile(r"is locked \((?P<lock>[\w-]+)\)|can't acquire lock")
STORAGE_FULL = re.compile(r"No space left on device")
GUEST_FAILED = re.compile(r"ERROR: Backup of VM \d+ failed - (?P<why>.+)")

# Per kind of failure: the settings of how often it is tried again and how far apart.
RETRY_POLICY = {
    "locked": ("BACKUP_LOCKED_RETRIES", "BACKUP_LOCKED_RETRY_SECONDS"),
    "storage_full": ("BACKUP_STORAGE_FULL_RETRIES", "BACKUP_STORAGE_FULL_RETRY_SECONDS"),
    "task_error": ("BACKUP_TASK_ERROR_RETRIES", "BACKUP_TASK_ERROR_RETRY_SECONDS"),
}


def _mirror(client: PveClient, operation: Operation, storage: str) -> None:
    guest = operation.guest
    backups_mirror(
        guest=guest,
        storage=storage,
        listing=pve_backups.backups_list(client, node=guest.node, storage=storage, vmid=guest.vmid),
    )


@step_handler("backup_vzdump")
def run_backup_vzdump(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    storage = params["storage"]

    def submit() -> str:
        return pve_backups.backup_start(
            client,
            node=guest.node,
            vmid=guest.vmid,
            storage=storage,
            mode=params.get("mode", "snapshot"),
            notes_template=params.get("notes", ""),
            protected=bool(params.get("protected")),
        )

    earlier_tries = step.task_log  # the logs of the tries that failed before this one
    # A lost request's vzdump task is found in the task list; without one, send it again.
    result = pve_task(
        step,
        client,
        submit,
        reconcile=task_of(client, step, node=guest.node, task_type="vzdump", vmid=guest.vmid),
    )
    this_try = step.task_log
    if earlier_tries and not isinstance(result, Wait):
        step.task_log = f"{earlier_tries}\n{this_try}"
    if isinstance(result, Fail):
        failure = _failure_of(this_try, result, vmid=guest.vmid, storage=storage)
        return _retry(operation, step, failure)
    if isinstance(result, Done):
        _mirror(client, operation, storage)
    return result


@dataclass(frozen=True)
class Failure:
    """What one failed try was: its kind (which retry policy applies), the final reason's
    words and the note the step's log gets before the next try."""

    kind: str
    reason: str
    note: str


def _failure_of(log: str, failed: Fail, *, vmid: int, storage: str) -> Failure:
    if found := LOCKED.search(log):
        lock = found.group("lock") or "held by another task"
        return Failure(
            "locked", f"guest {vmid} stayed locked ({lock})", f"guest {vmid} locked ({lock})"
        )
    if STORAGE_FULL.search(log):
        return Failure("storage_full", f"storage '{storage}' is full", f"storage '{storage}' full")
    found = GUEST_FAILED.search(log)
    failed_because = f"vzdump failed ({found.group('why') if found else failed.reason})"
    return Failure("task_error", failed_because, failed_because)


def _retry(operation: Operation, step: Step, failure: Failure) -> StepResult:
    """The backup is sent again later, as often and as far apart as the failure's kind allows
    (RETRY_POLICY); the last try fails the step, saying why and how often it was tried."""
    retries_setting, seconds_setting = RETRY_POLICY[failure.kind]
    seconds = getattr(settings, seconds_setting)
    retried = operation.params.get(f"{failure.kind}_tries", 0)
    if retried >= getattr(settings, retries_setting):
        tries = 1 + sum(operation.params.get(f"{kind}_tries", 0) for kind in RETRY_POLICY)
        return Fail(f"{failure.reason}: backup tried {_how_often(tries, seconds)}")
    with transaction.atomic():
        operation.params = {**operation.params, f"{failure.kind}_tries": retried + 1}
        Operation.objects.filter(pk=operation.pk).update(params=operation.params)
        # The step starts afresh: the next look sends vzdump again.
        Step.objects.filter(pk=step.pk).update(
            upid="",
            started_at=None,
            state=Step.State.PENDING,
            task_log=f"{step.task_log}\n-- {failure.note}; trying again",
        )
    step.upid, step.started_at = "", None
    return Wait(seconds)


def _how_often(tries: int, seconds: float) -> str:
    return f"{tries} times, {seconds:g} s apart" if tries > 1 else "once"


def _local(ctime: datetime | None) -> datetime:
    # PVE prunes by the node's wall clock; the portal's time zone stands for it.
    return timezone.localtime(ctime or datetime.fromtimestamp(0, tz=UTC)).replace(tzinfo=None)


@step_handler("backup_prune")
def run_backup_prune(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Remove what the keep rules do not keep among the guest's backups on the storage, one
    volume at a time (each a PVE task), choosing again from PVE's listing after each: running
    it again never removes more than the rules say. Protected backups are never removed."""
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    storage = params["storage"]
    rules = PruneOptions.parse(params["prune"])
    while True:
        if step.upid:  # a removal under way
            result = follow(step, client)
            if not isinstance(result, Done):
                return result
            Step.objects.filter(pk=step.pk).update(upid="")
            step.upid = ""
        removed = _to_remove(client, guest, storage, rules)
        if not removed:
            _mirror(client, operation, storage)
            return Done()
        upid = pve_backups.backup_delete(client, node=guest.node, volid=removed[-1])  # oldest
        Step.objects.filter(pk=step.pk).update(upid=upid)
        step.upid = upid


def _to_remove(client: PveClient, guest: Guest, storage: str, rules: PruneOptions) -> list[str]:
    listing = pve_backups.backups_list(client, node=guest.node, storage=storage, vmid=guest.vmid)
    entries = [
        BackupEntry(
            id=v.volid,
            ctime=_local(datetime.fromtimestamp(v.ctime, tz=UTC) if v.ctime else None),
            protected=v.protected,
        )
        for v in listing
    ]
    return prune_select(entries, rules)[1]


@on_finish(BACKUP_CREATE)
def finish_backup_create(operation: Operation) -> None:
    """The backup counts itself once mirrored; the reservation that held its place goes. A
    failed backup is told to the tenant's contact and to whoever asked for it: a scheduled one
    had nobody watching, an on-demand one may have been left to run."""
    reservation_release(operation=operation)
    if operation.state == Operation.State.FAILED and operation.tenant is not None:
        what = "Scheduled backup" if operation.params.get("schedule") else "Backup"
        tenant_notify(
            tenant=operation.tenant,
            subject=f"{what} of {_guest_label(operation)} failed",
            body=f"Operation {operation.pk}: {operation.error}",
            also=[requester_email(operation)],
        )


def _guest_label(operation: Operation) -> str:
    guest = operation.guest
    if guest is None:  # removed from the portal since; its ACL path still names the VMID
        return f"guest {operation.target.rsplit('/', 1)[-1]}"
    return f"{guest.name} ({guest.vmid})"
