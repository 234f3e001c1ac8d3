"""What the guest steps share: starting a PVE task once and following it, finding what a
request whose answer was lost did on PVE, and where new disks and images are."""

from collections.abc import Callable

from django.utils import timezone

from apps.clusters.models import Storage
from apps.clusters.placement import NoCapacity
from apps.guests.models import Guest, Image
from apps.operations.models import Operation, Step
from apps.operations.runner import (
    Done,
    Fail,
    StepResult,
    Wait,
    poll_seconds,
)
from apps.proxmox import guests as pve_guests
from apps.proxmox.client import PveClient
from apps.proxmox.errors import (
    ProxmoxOutcomeUnknown,
    ProxmoxUnavailable,
)
from apps.proxmox.inventory import GuestInfo
from apps.proxmox.tasks import task_log, task_status, tasks_list
from pvecore.guestconfig import parse_property_string
from pvecore.volumes import parse_volume_id

BOOT_DISK_KEYS = ("scsi0", "virtio0", "sata0", "ide0", "rootfs")


# PVE's clock and the portal's may differ this much when a step looks for the task it started.
TASK_CLOCK_SKEW_SECONDS = 2


# What a step that lost its request's answer finds on PVE: the UPID of the task that request
# started, the step's result, or None when nothing arrived and the request can be sent again.
Found = str | StepResult | None


def pve_task(
    step: Step,
    client: PveClient,
    submit: Callable[[], str],
    *,
    reconcile: Callable[[], Found] | None = None,
) -> StepResult:
    """Start the step's PVE task once (its UPID stored), then follow it.

    With `reconcile`, a request whose answer was lost (or whose worker died before storing the
    UPID) is looked up on PVE before it is sent again; without, it fails the step."""
    if not step.upid and step.started_at is not None and reconcile is not None:
        found = reconcile()
        if isinstance(found, Done | Wait | Fail):
            return found
        if found:
            Step.objects.filter(pk=step.pk).update(upid=found)
            step.upid = found
    if not step.upid:
        submit_once(step, submit, resend_safe=reconcile is not None)
    return follow(step, client)


def submit_once(step: Step, submit: Callable[[], str], *, resend_safe: bool) -> None:
    """Send the step's request and store its UPID. The step is marked started first, so one
    found started without a UPID may have reached PVE (the answer was lost, or the worker died
    before storing it) and looks before sending again. No transaction is held over the request
    (on SQLite it would stop every writer); the operation's claim keeps other workers off."""
    if step.started_at is None:
        step.state, step.started_at = Step.State.RUNNING, timezone.now()
        Step.objects.filter(pk=step.pk).update(state=step.state, started_at=step.started_at)
    try:
        upid = submit()
    except ProxmoxOutcomeUnknown as error:
        if not resend_safe:
            raise
        # Retried with back-off: the next run looks at PVE first.
        raise ProxmoxUnavailable(error.message, status=error.status) from error
    Step.objects.filter(pk=step.pk).update(upid=upid)
    step.upid = upid


def follow(step: Step, client: PveClient) -> StepResult:
    status = task_status(client, step.upid)
    if status.running:
        return Wait(poll_seconds())
    step.exitstatus = status.exitstatus
    step.task_log = "\n".join(task_log(client, step.upid))
    return Done() if status.succeeded else Fail(status.exitstatus)


def task_of(
    client: PveClient, step: Step, *, node: str, task_type: str, vmid: int
) -> Callable[[], Found]:
    """Reconcile by PVE's task list: the newest task of this type and VMID since the step
    started (the tasks of one portal token cannot be told apart otherwise)."""

    def find() -> Found:
        since = int(step.started_at.timestamp()) - TASK_CLOCK_SKEW_SECONDS
        found = tasks_list(client, node=node, task_type=task_type, vmid=vmid, since=since)
        return found[0].upid if found else None

    return find


def pve_task_type(guest: Guest, action: str) -> str:
    """PVE's task type of a guest action: qmstart, vzstop, qmdestroy, ..."""
    return ("qm" if guest.type == Guest.Type.QEMU else "vz") + action


def set_node(guest: Guest, node: str) -> None:
    if guest.node != node:
        Guest.objects.filter(pk=guest.pk).update(node=node)
        guest.node = node


def is_ours(info: GuestInfo, guest: Guest) -> bool:
    """A guest PVE has under the VMID is the operation's own when it bears the name the portal
    gave it (the portal picked both); anything else was there before."""
    return info.name == guest.name and info.pool in ("", guest.pool)


def refresh_status(client: PveClient, guest: Guest) -> None:
    current = pve_guests.guest_current_status(
        client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
    )
    Guest.objects.filter(pk=guest.pk).update(status=str(current.get("status", "")))


def disk_storage(cluster_id: int, node: str, disk_gb: int, content: str) -> Storage | None:
    """The storage on `node` for a new disk of `content` ('images' for a VM, 'rootdir' for a
    container's root): the one with most free space."""
    candidates = Storage.objects.filter(
        cluster_id=cluster_id, node__name=node, available=True, vanished_at__isnull=True
    )
    fitting = [
        s for s in candidates if content in s.content and s.total - s.used >= disk_gb * 1024**3
    ]
    return max(fitting, key=lambda s: (s.total - s.used, s.storage), default=None)


def image_nodes(operation: Operation, volid: str) -> list[str] | None:
    """The nodes that have the image; None when it is on shared storage (any node)."""
    images = Image.objects.filter(cluster=operation.cluster, volid=volid)
    if images.filter(node="").exists():
        return None
    return list(images.values_list("node", flat=True))


def template_disk_is_shared(client: PveClient, template: Guest) -> bool:
    config = pve_guests.guest_config(
        client, node=template.node, guest_type=template.type, vmid=template.vmid
    )
    disk = next((config[key] for key in BOOT_DISK_KEYS if key in config), "")
    storage = parse_volume_id(parse_property_string(disk, default_key="file")["file"])[0]
    return Storage.objects.filter(cluster=template.cluster, storage=storage, shared=True).exists()


def pinned_among(candidates: list[str] | None, params: dict) -> list[str] | None:
    """The nodes placement may choose from: the one an operator pinned (`node`), if the guest
    can go there at all, else `candidates` (None: any node)."""
    pinned = params.get("node")
    if not pinned:
        return candidates
    if candidates is not None and pinned not in candidates:
        raise NoCapacity(
            f"node {pinned} was chosen, but what the guest is made from is only on "
            f"{', '.join(sorted(candidates)) or 'no node'}"
        )
    return [pinned]
