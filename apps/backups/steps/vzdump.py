"""A backup run: vzdump for the guest once (its UPID stored first), tried again while PVE has
the guest locked; then the prune of the schedule's keep rules; the guest's backups mirrored."""

import re
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.backups.services.create import BACKUP_CREATE
from apps.backups.services.mirror import backups_mirror
from apps.backups.services.notify import tenant_notify
from apps.clusters.services import client_for
from apps.guests.models import Guest
from apps.guests.steps.common import follow, pve_task, task_of
from apps.operations.models import Operation, Step
from apps.operations.runner import Done, Fail, StepResult, Wait, on_finish, step_handler
from apps.proxmox import backups as pve_backups
from apps.proxmox.client import PveClient
from apps.tenancy.services import reservation_release
from pvecore.prune import BackupEntry, PruneOptions, prune_select

# vzdump's words for a guest it could not lock: held by another job, or not got in time.
LOCKED = re.compile(r"is locked \((?P<lock>[\w-]+)\)|can't acquire lock")


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

    earlier_tries = step.task_log  # the logs of tries refused on a locked guest
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
        return _retry_if_locked(operation, step, result, LOCKED.search(this_try))
    if isinstance(result, Done):
        _mirror(client, operation, storage)
    return result


def _retry_if_locked(
    operation: Operation, step: Step, failure: Fail, found: re.Match | None
) -> StepResult:
    """A guest PVE holds locked (`found` in this try's log) gets the backup again later
    (BACKUP_LOCKED_RETRIES times, BACKUP_LOCKED_RETRY_SECONDS apart); any other failure, or
    the last try, ends it."""
    if found is None:
        return failure
    lock = found.group("lock") or "held by another task"
    tried = operation.params.get("locked_tries", 0) + 1
    vmid = operation.guest.vmid
    if tried > settings.BACKUP_LOCKED_RETRIES:
        return Fail(
            f"guest {vmid} stayed locked ({lock}): backup tried {tried} times, "
            f"{settings.BACKUP_LOCKED_RETRY_SECONDS:g} s apart"
        )
    with transaction.atomic():
        operation.params = {**operation.params, "locked_tries": tried}
        Operation.objects.filter(pk=operation.pk).update(params=operation.params)
        # The step starts afresh: the next look sends vzdump again.
        Step.objects.filter(pk=step.pk).update(
            upid="",
            started_at=None,
            state=Step.State.PENDING,
            task_log=f"{step.task_log}\n-- guest {vmid} locked ({lock}); trying again",
        )
    step.upid, step.started_at = "", None
    return Wait(settings.BACKUP_LOCKED_RETRY_SECONDS)


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
    failed scheduled backup is told to the tenant's contact: nobody was watching."""
    reservation_release(operation=operation)
    if operation.state == Operation.State.FAILED and operation.params.get("schedule"):
        guest = operation.guest
        if guest is not None and guest.tenant is not None:
            tenant_notify(
                tenant=guest.tenant,
                subject=f"Scheduled backup of {guest.name} ({guest.vmid}) failed",
                body=f"Operation {operation.pk}: {operation.error}",
            )
