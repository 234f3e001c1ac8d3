"""The restore step: PVE makes the guest from the archive, a new VMID or over its own guest
(`force`). A new guest's failure is cleaned up as a failed create's (guest_restore is one of
its creating steps); an overwrite takes the backup's sizes once it succeeded."""

from django.db import transaction

from apps.backups.models import Backup
from apps.backups.services.restore import GUEST_RESTORE
from apps.clusters.services import client_for
from apps.guests.models import Guest
from apps.guests.steps.common import pve_task, pve_task_type, set_node, task_of
from apps.operations.models import Operation, Step
from apps.operations.runner import StepResult, on_finish, step_handler
from apps.proxmox import backups as pve_backups
from apps.tenancy.services import reservation_release


@step_handler("guest_restore")
def run_guest_restore(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    client = client_for(operation.cluster)
    set_node(guest, params["node"])
    return pve_task(
        step,
        client,
        lambda: pve_backups.backup_restore(
            client,
            node=guest.node,
            guest_type=guest.type,
            vmid=guest.vmid,
            volid=params["volid"],
            name=guest.name,
            pool=guest.pool,
            overwrite=bool(params.get("overwrite")),
        ),
        # Restore tasks carry the VMID they make: a lost request's task is found by it.
        reconcile=task_of(
            client,
            step,
            node=guest.node,
            task_type=pve_task_type(guest, "restore"),
            vmid=guest.vmid,
        ),
    )


@on_finish(GUEST_RESTORE)
def finish_guest_restore(operation: Operation) -> None:
    """The guest now is what the backup was: its sizes, as the backup recorded them (the guest
    sync corrects any drift). The reservation for what it grew by goes either way."""
    with transaction.atomic():
        reservation_release(operation=operation)
        if operation.state != Operation.State.SUCCEEDED or operation.guest is None:
            return
        backup = Backup.objects.filter(pk=operation.params.get("backup")).first()
        if backup is not None:
            Guest.objects.filter(pk=operation.guest_id).update(
                cores=backup.cores, memory_mb=backup.memory_mb, disk_gb=backup.disk_gb
            )
