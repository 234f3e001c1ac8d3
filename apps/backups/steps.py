"""The operation step of an on-demand backup: start vzdump for the guest once (its UPID stored
first), follow it, then mirror the guest's backup volumes on the storage."""

from apps.backups.services import BACKUP_CREATE, backups_mirror
from apps.clusters.services import client_for
from apps.guests.steps.common import pve_task, task_of
from apps.operations.models import Operation, Step
from apps.operations.runner import Done, Fail, StepResult, on_finish, step_handler
from apps.proxmox import backups as pve_backups
from apps.tenancy.services import reservation_release


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

    # A lost request's vzdump task is found in the task list; without one, send it again.
    result = pve_task(
        step,
        client,
        submit,
        reconcile=task_of(client, step, node=guest.node, task_type="vzdump", vmid=guest.vmid),
    )
    if isinstance(result, Done):
        backups_mirror(
            guest=guest,
            storage=storage,
            listing=pve_backups.backups_list(
                client, node=guest.node, storage=storage, vmid=guest.vmid
            ),
        )
    return result


@on_finish(BACKUP_CREATE)
def finish_backup_create(operation: Operation) -> None:
    """The backup counts itself once mirrored; the reservation that held its place goes."""
    reservation_release(operation=operation)
