"""Steps on one backup volume: its notes and protection changed, the volume deleted; the
mirror follows what PVE did."""

from django.utils import timezone

from apps.backups.models import Backup
from apps.backups.services.volumes import BACKUP_DELETE, BACKUP_UPDATE
from apps.clusters.services import client_for
from apps.guests.steps.common import pve_task
from apps.operations.models import Operation, Step
from apps.operations.runner import Done, StepResult, on_finish, step_handler
from apps.proxmox import backups as pve_backups
from apps.proxmox.errors import ProxmoxNotFound


def _backup(operation: Operation) -> Backup:
    return Backup.objects.get(pk=operation.params["backup"])


@step_handler("backup_volume_update")
def run_backup_volume_update(*, operation: Operation, step: Step, params: dict) -> StepResult:
    backup = _backup(operation)
    pve_backups.backup_update(
        client_for(operation.cluster),
        node=backup.node,
        volid=backup.volid,
        notes=params.get("notes"),
        protected=params.get("protected"),
    )
    return Done()


@step_handler("backup_volume_delete")
def run_backup_volume_delete(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Delete the volume; one PVE no longer has (deleted by an earlier request whose answer
    was lost, or by hand) counts as deleted."""
    backup = _backup(operation)
    client = client_for(operation.cluster)

    def submit() -> str:
        return pve_backups.backup_delete(client, node=backup.node, volid=backup.volid)

    def reconcile() -> str | StepResult | None:
        listing = pve_backups.backups_list(
            client, node=backup.node, storage=backup.storage, vmid=backup.vmid
        )
        return None if any(v.volid == backup.volid for v in listing) else Done()

    try:
        return pve_task(step, client, submit, reconcile=reconcile)
    except ProxmoxNotFound:
        return Done()


@on_finish(BACKUP_UPDATE)
def finish_backup_update(operation: Operation) -> None:
    if operation.state != Operation.State.SUCCEEDED:
        return
    params = operation.params["steps"][0]
    change = {key: params[key] for key in ("notes", "protected") if key in params}
    Backup.objects.filter(pk=operation.params["backup"]).update(**change)


@on_finish(BACKUP_DELETE)
def finish_backup_delete(operation: Operation) -> None:
    if operation.state == Operation.State.SUCCEEDED:
        Backup.objects.filter(pk=operation.params["backup"]).update(vanished_at=timezone.now())
