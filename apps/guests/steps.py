"""Operation steps that act on guests. Each is idempotent: a step that starts a PVE task stores
the UPID first, and a re-run polls that task instead of starting another."""

from collections.abc import Callable
from urllib.parse import quote

from django.db import transaction
from django.utils import timezone

from apps.access.services import pool_set_guest
from apps.clusters.models import Storage
from apps.clusters.placement import NoCapacity, node_choose
from apps.clusters.services import client_for
from apps.core.crypto import decrypt_secret
from apps.guests.models import Guest, Image, Snapshot
from apps.guests.selectors import vmid_candidate
from apps.operations.models import Operation, Step
from apps.operations.runner import (
    Done,
    Fail,
    StepResult,
    Wait,
    on_failure,
    on_finish,
    poll_seconds,
    step_handler,
)
from apps.proxmox import guests as pve_guests
from apps.proxmox.client import PveClient
from apps.proxmox.errors import (
    ProxmoxExists,
    ProxmoxOutcomeUnknown,
    ProxmoxUnavailable,
)
from apps.proxmox.inventory import GuestInfo
from apps.proxmox.tasks import task_log, task_status, tasks_list
from apps.tenancy.services import reservation_release
from pvecore.guestconfig import parse_property_string, parse_size
from pvecore.volumes import parse_volume_id

BOOT_DISK_KEYS = ("scsi0", "virtio0", "sata0", "ide0", "rootfs")
# The steps after which PVE has something a failed create must clean up.
CREATING_STEPS = ("guest_clone", "container_create", "vm_create")
MAX_VMID_RETRIES = 5
# PVE's clock and the portal's may differ this much when a step looks for the task it started.
TASK_CLOCK_SKEW_SECONDS = 2

# What a step that lost its request's answer finds on PVE: the UPID of the task that request
# started, the step's result, or None when nothing arrived and the request can be sent again.
Found = str | StepResult | None


def _pve_task(
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
        _submit(step, submit, resend_safe=reconcile is not None)
    return _follow(step, client)


def _submit(step: Step, submit: Callable[[], str], *, resend_safe: bool) -> None:
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


def _follow(step: Step, client: PveClient) -> StepResult:
    status = task_status(client, step.upid)
    if status.running:
        return Wait(poll_seconds())
    step.exitstatus = status.exitstatus
    step.task_log = "\n".join(task_log(client, step.upid))
    return Done() if status.succeeded else Fail(status.exitstatus)


def _task_of(
    client: PveClient, step: Step, *, node: str, task_type: str, vmid: int
) -> Callable[[], Found]:
    """Reconcile by PVE's task list: the newest task of this type and VMID since the step
    started (the tasks of one portal token cannot be told apart otherwise)."""

    def find() -> Found:
        since = int(step.started_at.timestamp()) - TASK_CLOCK_SKEW_SECONDS
        found = tasks_list(client, node=node, task_type=task_type, vmid=vmid, since=since)
        return found[0].upid if found else None

    return find


def _task_type(guest: Guest, action: str) -> str:
    """PVE's task type of a guest action: qmstart, vzstop, qmdestroy, ..."""
    return ("qm" if guest.type == Guest.Type.QEMU else "vz") + action


def _set_node(guest: Guest, node: str) -> None:
    if guest.node != node:
        Guest.objects.filter(pk=guest.pk).update(node=node)
        guest.node = node


def _is_ours(info: GuestInfo, guest: Guest) -> bool:
    """A guest PVE has under the VMID is the operation's own when it bears the name the portal
    gave it (the portal picked both); anything else was there before."""
    return info.name == guest.name and info.pool in ("", guest.pool)


def _refresh_status(client: PveClient, guest: Guest) -> None:
    current = pve_guests.guest_current_status(
        client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
    )
    Guest.objects.filter(pk=guest.pk).update(status=str(current.get("status", "")))


@step_handler("guest_power")
def run_guest_power(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    action = params["action"]
    result = _pve_task(
        step,
        client,
        lambda: pve_guests.guest_power(
            client, node=guest.node, guest_type=guest.type, vmid=guest.vmid, action=action
        ),
        reconcile=_task_of(
            client, step, node=guest.node, task_type=_task_type(guest, action), vmid=guest.vmid
        ),
    )
    if isinstance(result, Done):
        _refresh_status(client, guest)
    return result


@step_handler("tenant_pool")
def run_tenant_pool(*, operation: Operation, step: Step, params: dict) -> StepResult:
    pve_guests.pool_ensure(
        client_for(operation.cluster), pool=params["pool"], comment=params.get("comment", "")
    )
    return Done()


def _template_disk_is_shared(client: PveClient, template: Guest) -> bool:
    config = pve_guests.guest_config(
        client, node=template.node, guest_type=template.type, vmid=template.vmid
    )
    disk = next((config[key] for key in BOOT_DISK_KEYS if key in config), "")
    storage = parse_volume_id(parse_property_string(disk, default_key="file")["file"])[0]
    return Storage.objects.filter(cluster=template.cluster, storage=storage, shared=True).exists()


@step_handler("guest_clone")
def run_guest_clone(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Place the guest, then clone the template; another VMID if PVE already has this one.
    A clone request whose answer was lost is looked up on PVE before it is sent again: the VMID
    is its key, and PVE never makes two guests with one VMID."""
    guest = operation.guest
    client = client_for(operation.cluster)
    if not step.upid:
        sent_before = step.started_at is not None
        if sent_before and (found := _made_earlier(client, operation, step, guest)) is not None:
            return found
        template = Guest.objects.get(vmid=params["template_vmid"])
        shared = _template_disk_is_shared(client, template)
        try:
            node = node_choose(
                cluster=operation.cluster,
                memory_mb=guest.memory_mb,
                among=None if shared else [template.node],
            )
        except NoCapacity as error:
            return Fail(str(error))
        taken: set[int] = set()
        for _attempt in range(MAX_VMID_RETRIES):
            try:
                # Linked clones share a template's disk; any other guest is copied in full.
                linked = shared and template.template
                return _clone(step, client, guest, template, node.name, linked=linked)
            except ProxmoxExists:
                found = _made_earlier(client, operation, step, guest) if sent_before else None
                if found is not None:  # an earlier request of this step made it
                    return found
                if params.get("keep_vmid"):  # a reinstall: the guest is this VMID
                    return Fail(f"PVE still has a guest {guest.vmid}; it was not destroyed")
                taken.add(guest.vmid)
                _move_vmid(
                    operation,
                    guest,
                    vmid_candidate(cluster=operation.cluster, taken=frozenset(taken)),
                )
                sent_before = False  # nothing was ever asked for the new VMID
        return Fail(f"PVE reported {len(taken)} VMIDs in a row as taken: {sorted(taken)}")
    return _pve_task(step, client, lambda: "")


def _clone(
    step: Step, client: PveClient, guest: Guest, template: Guest, node: str, *, linked: bool
) -> StepResult:
    Guest.objects.filter(pk=guest.pk).update(node=node)
    guest.node = node
    _submit(
        step,
        lambda: pve_guests.guest_clone(
            client,
            node=template.node,
            guest_type=template.type,
            template_vmid=template.vmid,
            newid=guest.vmid,
            name=guest.name,
            target=node,
            pool=guest.pool,
            full=not linked,
        ),
        resend_safe=True,
    )
    return _follow(step, client)


def _made_earlier(client: PveClient, operation: Operation, step: Step, guest: Guest) -> Found:
    """Did an earlier request of this creating step reach PVE? The UPID of its task (create
    tasks carry the new VMID), else the step's result as the guest on PVE tells it (a clone's
    task carries the template's VMID), or None: nothing of ours is there, send again."""
    info = pve_guests.guest_locate(client, vmid=guest.vmid)
    if info is None or not _is_ours(info, guest):
        return None
    _set_node(guest, info.node)
    if step.name != "guest_clone":
        task_type = _task_type(guest, "create")
        found = _task_of(client, step, node=info.node, task_type=task_type, vmid=guest.vmid)()
        if found:
            return found
    if info.lock in ("clone", "create"):
        if _creating_task_running(client, operation, guest):
            return Wait(poll_seconds())
        return Fail(f"PVE made guest {guest.vmid} but its task ended leaving it locked")
    step.task_log = (
        f"guest {guest.vmid} found on {info.node}, made by a request whose answer was lost"
    )
    return Done()


def _creating_task_running(client: PveClient, operation: Operation, guest: Guest) -> bool:
    """Whether the task making the guest still runs: the creating step's own task, else (its
    UPID unknown) any clone of its template, or any create task of its VMID."""
    step = operation.steps.filter(name__in=CREATING_STEPS).order_by("position").first()
    if step is None:
        return False
    if step.upid:
        return task_status(client, step.upid).running
    if step.name == "guest_clone":
        template = Guest.objects.get(vmid=operation.params["steps"][step.position]["template_vmid"])
        node, task_type, vmid = template.node, _task_type(template, "clone"), template.vmid
    else:
        node, task_type, vmid = guest.node, _task_type(guest, "create"), guest.vmid
    return bool(tasks_list(client, node=node, task_type=task_type, vmid=vmid, running_only=True))


def _move_vmid(operation: Operation, guest: Guest, vmid: int) -> None:
    with transaction.atomic():
        pool_set_guest(vmid=guest.vmid, pool_name="")
        pool_set_guest(vmid=vmid, pool_name=guest.pool)
        Guest.objects.filter(pk=guest.pk).update(vmid=vmid)
        Operation.objects.filter(pk=operation.pk).update(target=f"/vms/{vmid}")
    guest.vmid = vmid


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
        return _pve_task(
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
            reconcile=_task_of(client, step, node=guest.node, task_type="resize", vmid=guest.vmid),
        )
    return _pve_task(step, client, lambda: "")


@on_failure("guest.create")
def undo_guest_create(operation: Operation) -> list[tuple[str, dict]]:
    """A failed or cancelled create stops and destroys what PVE may have made, as recorded
    steps (polled, retried); one that never sent its creating request has nothing to undo."""
    sent = operation.steps.filter(name__in=CREATING_STEPS, started_at__isnull=False).exists()
    if operation.guest is None or not sent:
        return []
    return [("guest_discard_stop", {}), ("guest_destroy", {"discard": True})]


@on_finish("guest.create")
def finish_guest_create(operation: Operation) -> None:
    """Success: the guest counts itself now. Failure: no half guest is left behind silently;
    what PVE made was destroyed by the cleanup steps (the row stays, flagged destroyed), or
    the guest is flagged for an operator. Where PVE had nothing, the row goes."""
    guest = operation.guest
    with transaction.atomic():
        reservation_release(operation=operation)
        if guest is None:
            return
        if operation.state == Operation.State.SUCCEEDED:
            Guest.objects.filter(pk=guest.pk).update(last_seen_at=timezone.now())
            return
        destroy = operation.steps.filter(name="guest_destroy").first()
        if destroy is None or (destroy.state == Step.State.DONE and not destroy.upid):
            pool_set_guest(vmid=guest.vmid, pool_name="")
            guest.delete()
            operation.guest = None
        elif destroy.state == Step.State.DONE:
            Guest.objects.filter(pk=guest.pk).update(status="destroyed", vanished_at=timezone.now())
        else:
            Guest.objects.filter(pk=guest.pk).update(status="error", vanished_at=None)
            operation.error = f"{operation.error}; guest {guest.vmid} needs an operator"


@step_handler("guest_discard_stop")
def run_guest_discard_stop(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """A failed create's cleanup, before the destroy: wait for the task making the guest to
    end, then stop the guest if it runs (PVE destroys stopped guests only). The row takes the
    sizes PVE gave the guest: should the cleanup not finish, the guest is flagged and counts
    as PVE has it (a clone stopped half way has its template's sizes)."""
    guest = operation.guest
    client = client_for(operation.cluster)
    if not step.upid:
        info = pve_guests.guest_locate(client, vmid=guest.vmid)
        if info is None or not _is_ours(info, guest):
            return Done()
        Guest.objects.filter(pk=guest.pk).update(
            node=info.node,
            cores=info.cores,
            memory_mb=info.memory_bytes // 1024**2,
            disk_gb=-(-info.disk_bytes // 1024**3),  # rounded up, as the guest sync does
        )
        guest.node = info.node
        if info.lock:
            if _creating_task_running(client, operation, guest):
                return Wait(poll_seconds())
            return Fail(f"PVE keeps guest {guest.vmid} locked ({info.lock})")
        if info.status == "stopped":
            return Done()
    return _pve_task(
        step,
        client,
        lambda: pve_guests.guest_power(
            client, node=guest.node, guest_type=guest.type, vmid=guest.vmid, action="stop"
        ),
        reconcile=_task_of(
            client, step, node=guest.node, task_type=_task_type(guest, "stop"), vmid=guest.vmid
        ),
    )


@step_handler("guest_destroy")
def run_guest_destroy(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Destroy the guest with its disks. A guest PVE no longer has counts as destroyed (an
    earlier request whose answer was lost, an operator); in a create's cleanup (`discard`) a
    guest under the VMID that is not the one the create made is left alone."""
    guest = operation.guest
    client = client_for(operation.cluster)
    if not step.upid:
        info = pve_guests.guest_locate(client, vmid=guest.vmid)
        if info is None or (params.get("discard") and not _is_ours(info, guest)):
            found = (
                _task_of(
                    client,
                    step,
                    node=guest.node,
                    task_type=_task_type(guest, "destroy"),
                    vmid=guest.vmid,
                )()
                if step.started_at
                else None
            )
            if isinstance(found, str):  # the lost request's task: keep its record
                Step.objects.filter(pk=step.pk).update(upid=found)
                step.upid = found
                return _follow(step, client)
            return Done()
        _set_node(guest, info.node)
    return _pve_task(
        step,
        client,
        lambda: pve_guests.guest_destroy(
            client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
        ),
        reconcile=_task_of(
            client, step, node=guest.node, task_type=_task_type(guest, "destroy"), vmid=guest.vmid
        ),
    )


@on_finish("guest.delete")
def finish_guest_delete(operation: Operation) -> None:
    """A deleted guest leaves the portal; its operations and audit events keep its VMID."""
    if operation.state == Operation.State.SUCCEEDED and operation.guest is not None:
        with transaction.atomic():
            pool_set_guest(vmid=operation.guest.vmid, pool_name="")
            operation.guest.delete()
        operation.guest = None


def _disk_storage(cluster_id: int, node: str, disk_gb: int, content: str) -> Storage | None:
    """The storage on `node` for a new disk of `content` ('images' for a VM, 'rootdir' for a
    container's root): the one with most free space."""
    candidates = Storage.objects.filter(
        cluster_id=cluster_id, node__name=node, available=True, vanished_at__isnull=True
    )
    fitting = [
        s for s in candidates if content in s.content and s.total - s.used >= disk_gb * 1024**3
    ]
    return max(fitting, key=lambda s: (s.total - s.used, s.storage), default=None)


@step_handler("container_create")
def run_container_create(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """Place the container on a node that has the template and room, then create it there. A
    request whose answer was lost is looked up on PVE (its vzcreate task, the VMID) before it
    is sent again."""
    guest = operation.guest
    client = client_for(operation.cluster)
    if not step.upid and step.started_at is not None:
        found = _made_earlier(client, operation, step, guest)
        if isinstance(found, str):
            Step.objects.filter(pk=step.pk).update(upid=found)
            step.upid = found
        elif found is not None:
            return found
    if step.upid:
        return _pve_task(step, client, lambda: "")
    images = Image.objects.filter(cluster=operation.cluster, volid=params["ostemplate"])
    on_shared = images.filter(node="").exists()
    candidate_nodes = None if on_shared else list(images.values_list("node", flat=True))
    try:
        node = node_choose(
            cluster=operation.cluster, memory_mb=guest.memory_mb, among=candidate_nodes
        )
    except NoCapacity as error:
        return Fail(str(error))
    storage = _disk_storage(operation.cluster_id, node.name, guest.disk_gb, "rootdir")
    if storage is None:
        return Fail(f"no storage on {node.name} takes container disks of {guest.disk_gb} GiB")
    Guest.objects.filter(pk=guest.pk).update(node=node.name)
    guest.node = node.name
    _submit(
        step,
        lambda: pve_guests.container_create(
            client,
            node=node.name,
            vmid=guest.vmid,
            ostemplate=params["ostemplate"],
            hostname=guest.name,
            cores=guest.cores,
            memory_mb=guest.memory_mb,
            rootfs=f"{storage.storage}:{guest.disk_gb}",
            pool=guest.pool,
            ssh_keys=params.get("ssh_keys", ""),
            password=(
                decrypt_secret(params["password_encrypted"])
                if params.get("password_encrypted")
                else ""
            ),
            net0=params.get("net0", "name=eth0,bridge=vmbr0,ip=dhcp"),
        ),
        resend_safe=True,  # the VMID is its key: PVE makes no second guest with it
    )
    return _follow(step, client)


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


def _image_nodes(operation: Operation, volid: str) -> list[str] | None:
    """The nodes that have the image; None when it is on shared storage (any node)."""
    images = Image.objects.filter(cluster=operation.cluster, volid=volid)
    if images.filter(node="").exists():
        return None
    return list(images.values_list("node", flat=True))


@step_handler("vm_create")
def run_vm_create(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """An empty VM with the plan's sizes and the ISO in its CD drive, on a node that has the
    ISO and room for it."""
    guest = operation.guest
    client = client_for(operation.cluster)
    if step.upid:
        return _pve_task(step, client, lambda: "")
    try:
        node = node_choose(
            cluster=operation.cluster,
            memory_mb=guest.memory_mb,
            among=_image_nodes(operation, params["iso"]),
        )
    except NoCapacity as error:
        return Fail(str(error))
    storage = _disk_storage(operation.cluster_id, node.name, guest.disk_gb, "images")
    if storage is None:
        return Fail(f"no storage on {node.name} takes VM disks of {guest.disk_gb} GiB")
    Guest.objects.filter(pk=guest.pk).update(node=node.name)
    guest.node = node.name
    return _pve_task(
        step,
        client,
        lambda: pve_guests.vm_create(
            client,
            node=node.name,
            vmid=guest.vmid,
            name=guest.name,
            cores=guest.cores,
            memory_mb=guest.memory_mb,
            disk=f"{storage.storage}:{guest.disk_gb}",
            iso=params["iso"],
            pool=guest.pool,
        ),
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
