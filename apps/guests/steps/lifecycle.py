"""Steps on existing guests: power, configuration, disk growth, options, destroy; and what
their operations leave in the portal when they end."""

from urllib.parse import quote

from django.db import transaction

from apps.access.services import pool_set_guest
from apps.clusters.services import client_for
from apps.core.crypto import decrypt_secret
from apps.guests.models import Guest, Snapshot
from apps.guests.steps.common import (
    BOOT_DISK_KEYS,
    follow,
    is_ours,
    pve_task,
    pve_task_type,
    refresh_status,
    set_node,
    task_of,
)
from apps.operations.models import Operation, Step
from apps.operations.runner import (
    Done,
    Fail,
    StepResult,
    on_finish,
    step_handler,
)
from apps.proxmox import guests as pve_guests
from apps.proxmox.client import PveClient
from apps.proxmox.errors import (
    ProxmoxError,
    ProxmoxOutcomeUnknown,
    ProxmoxUnavailable,
)
from apps.tenancy.services import reservation_release
from pvecore.guestconfig import parse_property_string, parse_size


@step_handler("guest_power")
def run_guest_power(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    action = params["action"]
    sent_before = step.started_at is not None and not step.upid
    try:
        result = pve_task(
            step,
            client,
            lambda: pve_guests.guest_power(
                client, node=guest.node, guest_type=guest.type, vmid=guest.vmid, action=action
            ),
            reconcile=task_of(
                client,
                step,
                node=guest.node,
                task_type=pve_task_type(guest, action),
                vmid=guest.vmid,
            ),
        )
    except ProxmoxError as error:
        # Sent again after a lost answer whose task PVE did not list: PVE refusing it
        # ("already running") may mean the first request did it, the step's end, not a failure.
        if (
            sent_before
            and not error.retryable
            and _is_in_state(client, guest, POWER_TARGETS.get(action))
        ):
            step.task_log = f"guest {guest.vmid} found {POWER_TARGETS[action]} after a lost answer"
            refresh_status(client, guest)
            return Done()
        raise
    if isinstance(result, Done):
        refresh_status(client, guest)
    return result


# The state each power action leaves the guest in (reboot and suspend have none to check).
POWER_TARGETS = {"start": "running", "stop": "stopped", "shutdown": "stopped"}


def _is_in_state(client: PveClient, guest: Guest, state: str | None) -> bool:
    if state is None:
        return False
    current = pve_guests.guest_current_status(
        client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
    )
    return current.get("status") == state


@step_handler("guest_configure")
def run_guest_configure(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    # A resize names the new sizes; a create configures what the guest row already says.
    options: dict[str, object] = {
        "cores": params.get("cores", guest.cores),
        "memory": params.get("memory_mb", guest.memory_mb),
    }
    if params.get("ssh_keys"):
        # PVE wants the keys URL-encoded (its API decodes them once more).
        options["sshkeys"] = quote(params["ssh_keys"], safe="")
    if params.get("user"):
        options["ciuser"] = params["user"]
    if params.get("password_encrypted"):
        options["cipassword"] = decrypt_secret(params["password_encrypted"])
    if params.get("ipconfig0"):
        options["ipconfig0"] = params["ipconfig0"]
    try:
        pve_guests.guest_config_update(
            client_for(operation.cluster),
            node=guest.node,
            guest_type=guest.type,
            vmid=guest.vmid,
            **options,
        )
    except ProxmoxOutcomeUnknown as error:
        # Absolute values: sending them again changes nothing if the first request arrived.
        raise ProxmoxUnavailable(error.message, status=error.status) from error
    return Done()


@step_handler("guest_grow_disk")
def run_guest_grow_disk(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Grow the boot disk to the plan's size (never shrink: PVE cannot)."""
    guest = operation.guest
    disk_gb = params.get("disk_gb", guest.disk_gb)
    client = client_for(operation.cluster)
    if not step.upid:
        config = pve_guests.guest_config(
            client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
        )
        key = next((k for k in BOOT_DISK_KEYS if k in config), None)
        if key is None:
            return Fail("the guest has no boot disk (scsi0, virtio0, sata0, ide0 or rootfs)")
        size = parse_property_string(config[key], default_key="file").get("size", "0")
        if parse_size(size) >= disk_gb * 1024**3:
            return Done()
        # An absolute size: a request sent again after a lost answer changes nothing more.
        return pve_task(
            step,
            client,
            lambda: pve_guests.guest_resize(
                client,
                node=guest.node,
                guest_type=guest.type,
                vmid=guest.vmid,
                disk=key,
                size=f"{disk_gb}G",
            ),
            reconcile=task_of(client, step, node=guest.node, task_type="resize", vmid=guest.vmid),
        )
    return pve_task(step, client, lambda: "")


@step_handler("guest_destroy")
def run_guest_destroy(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Destroy the guest with its disks. A guest PVE no longer has counts as destroyed (an
    earlier request whose answer was lost, an operator); in a create's cleanup (`discard`) a
    guest under the VMID that is not the one the create made is left alone."""
    guest = operation.guest
    client = client_for(operation.cluster)
    task_type = pve_task_type(guest, "destroy")
    if not step.upid:
        info = pve_guests.guest_locate(client, vmid=guest.vmid)
        if info is None or (params.get("discard") and not is_ours(info, guest)):
            # Nothing (of ours) to destroy: perhaps this step's own lost request did it, whose
            # task then stays on record.
            find = task_of(client, step, node=guest.node, task_type=task_type, vmid=guest.vmid)
            found = find() if step.started_at else None
            if not found:
                return Done()
            Step.objects.filter(pk=step.pk).update(upid=found)
            step.upid = found
            return follow(step, client)
        set_node(guest, info.node)
    return pve_task(
        step,
        client,
        lambda: pve_guests.guest_destroy(
            client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
        ),
        reconcile=task_of(client, step, node=guest.node, task_type=task_type, vmid=guest.vmid),
    )


@on_finish("guest.delete")
def finish_guest_delete(operation: Operation) -> None:
    """A deleted guest leaves the portal; its operations and audit events keep its VMID."""
    if operation.state == Operation.State.SUCCEEDED and operation.guest is not None:
        with transaction.atomic():
            pool_set_guest(vmid=operation.guest.vmid, pool_name="")
            operation.guest.delete()
        operation.guest = None


@on_finish("guest.resize")
def finish_guest_resize(operation: Operation) -> None:
    """The new sizes count from now on (they were held by the reservation until here). A resize
    that failed after PVE took the new cores and memory counts those: PVE has them."""
    with transaction.atomic():
        reservation_release(operation=operation)
        if operation.guest is None:
            return
        sizes = operation.params["resize"]
        if operation.state == Operation.State.SUCCEEDED:
            Guest.objects.filter(pk=operation.guest_id).update(
                cores=sizes["cores"],
                memory_mb=sizes["memory_mb"],
                disk_gb=sizes["disk_gb"],
                plan_id=sizes.get("plan"),
            )
        elif operation.steps.filter(name="guest_configure", state=Step.State.DONE).exists():
            Guest.objects.filter(pk=operation.guest_id).update(
                cores=sizes["cores"], memory_mb=sizes["memory_mb"]
            )


@step_handler("guest_options")
def run_guest_options(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Name, tags and notes: a synchronous config change; an empty value removes the option."""
    guest = operation.guest
    name_key = "name" if guest.type == Guest.Type.QEMU else "hostname"
    pve_keys = {"name": name_key, "tags": "tags", "notes": "description"}
    options = {pve_keys[key]: value for key, value in params.items() if value != ""}
    removed = [pve_keys[key] for key, value in params.items() if value == ""]
    if removed:
        options["delete"] = ",".join(removed)
    pve_guests.guest_config_update(
        client_for(operation.cluster),
        node=guest.node,
        guest_type=guest.type,
        vmid=guest.vmid,
        **options,
    )
    return Done()


@on_finish("guest.update")
def finish_guest_update(operation: Operation) -> None:
    if operation.state == Operation.State.SUCCEEDED and operation.guest is not None:
        Guest.objects.filter(pk=operation.guest_id).update(**operation.params["steps"][0])


@on_finish("guest.reinstall")
def finish_guest_reinstall(operation: Operation) -> None:
    """A reinstall that failed after the old system was destroyed leaves the guest without a
    system: it stays the tenant's (same VMID, same quota) and says so, to be reinstalled."""
    if operation.guest is None:
        return
    destroyed = operation.steps.filter(name="guest_destroy", state=Step.State.DONE).exists()
    if destroyed:  # its snapshots went with the old system
        Snapshot.objects.filter(guest_id=operation.guest_id).delete()
    if destroyed and operation.state != Operation.State.SUCCEEDED:
        Guest.objects.filter(pk=operation.guest_id).update(status="error")
