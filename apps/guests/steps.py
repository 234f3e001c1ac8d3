"""Operation steps that act on guests."""

from django.db import transaction
from django.utils import timezone

from apps.clusters.services import client_for
from apps.guests.models import Guest
from apps.operations.models import Operation, Step
from apps.operations.runner import Done, Fail, StepResult, Wait, poll_seconds, step_handler
from apps.proxmox import guests as pve_guests
from apps.proxmox.tasks import task_log, task_status


@step_handler("guest_power")
def run_guest_power(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    if not step.upid:
        with transaction.atomic():
            locked = Step.objects.select_for_update().get(pk=step.pk)
            if not locked.upid:
                upid = pve_guests.guest_power(
                    client,
                    node=guest.node,
                    guest_type=guest.type,
                    vmid=guest.vmid,
                    action=params["action"],
                )
                locked.upid, locked.state, locked.started_at = (
                    upid,
                    Step.State.RUNNING,
                    timezone.now(),
                )
                locked.save(update_fields=["upid", "state", "started_at"])
        step.refresh_from_db()
    status = task_status(client, step.upid)
    if status.running:
        return Wait(poll_seconds())
    step.exitstatus = status.exitstatus
    step.task_log = "\n".join(task_log(client, step.upid))
    if not status.succeeded:
        return Fail(status.exitstatus)
    current = pve_guests.guest_current_status(
        client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
    )
    Guest.objects.filter(pk=guest.pk).update(status=str(current.get("status", "")))
    return Done()
