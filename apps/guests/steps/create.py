"""Steps that make guests: the tenant's pool, clones, VMs from ISOs, containers; and the
cleanup of a create that failed."""

from django.db import transaction
from django.utils import timezone

from apps.access.services import pool_set_guest
from apps.clusters.placement import NoCapacity, node_choose
from apps.clusters.services import client_for
from apps.core.crypto import decrypt_secret
from apps.guests.models import Guest, Image
from apps.guests.selectors import vmid_candidate
from apps.guests.steps.common import (
    Found,
    disk_storage,
    follow,
    image_nodes,
    is_ours,
    pinned_among,
    pve_task,
    pve_task_type,
    set_node,
    submit_once,
    task_of,
    template_disk_is_shared,
)
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
)
from apps.proxmox.tasks import task_status, tasks_list
from apps.tenancy.services import reservation_release

# The steps after which PVE has something a failed create must clean up.
CREATING_STEPS = ("guest_clone", "container_create", "vm_create", "guest_restore")


MAX_VMID_RETRIES = 5


@step_handler("tenant_pool")
def run_tenant_pool(*, operation: Operation, step: Step, params: dict) -> StepResult:
    pve_guests.pool_ensure(
        client_for(operation.cluster), pool=params["pool"], comment=params.get("comment", "")
    )
    return Done()


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
        shared = template_disk_is_shared(client, template)
        try:
            node = node_choose(
                cluster=operation.cluster,
                memory_mb=guest.memory_mb,
                among=pinned_among(None if shared else [template.node], params),
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
    return pve_task(step, client, lambda: "")


def _clone(
    step: Step, client: PveClient, guest: Guest, template: Guest, node: str, *, linked: bool
) -> StepResult:
    Guest.objects.filter(pk=guest.pk).update(node=node)
    guest.node = node
    submit_once(
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
    return follow(step, client)


def _made_earlier(client: PveClient, operation: Operation, step: Step, guest: Guest) -> Found:
    """Did an earlier request of this creating step reach PVE? The UPID of its task (create
    tasks carry the new VMID), else the step's result as the guest on PVE tells it (a clone's
    task carries the template's VMID), or None: nothing of ours is there, send again."""
    info = pve_guests.guest_locate(client, vmid=guest.vmid)
    if info is None or not is_ours(info, guest):
        return None
    set_node(guest, info.node)
    if step.name != "guest_clone":
        task_type = pve_task_type(guest, "create")
        found = task_of(client, step, node=info.node, task_type=task_type, vmid=guest.vmid)()
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
        node, task_type, vmid = template.node, pve_task_type(template, "clone"), template.vmid
    else:
        node, task_type, vmid = guest.node, pve_task_type(guest, "create"), guest.vmid
    return bool(tasks_list(client, node=node, task_type=task_type, vmid=vmid, running_only=True))


def _move_vmid(operation: Operation, guest: Guest, vmid: int) -> None:
    with transaction.atomic():
        pool_set_guest(vmid=guest.vmid, pool_name="")
        pool_set_guest(vmid=vmid, pool_name=guest.pool)
        Guest.objects.filter(pk=guest.pk).update(vmid=vmid)
        Operation.objects.filter(pk=operation.pk).update(target=f"/vms/{vmid}")
    guest.vmid = vmid


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
        if info is None or not is_ours(info, guest):
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
    return pve_task(
        step,
        client,
        lambda: pve_guests.guest_power(
            client, node=guest.node, guest_type=guest.type, vmid=guest.vmid, action="stop"
        ),
        reconcile=task_of(
            client, step, node=guest.node, task_type=pve_task_type(guest, "stop"), vmid=guest.vmid
        ),
    )


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
        return pve_task(step, client, lambda: "")
    images = Image.objects.filter(cluster=operation.cluster, volid=params["ostemplate"])
    on_shared = images.filter(node="").exists()
    candidate_nodes = None if on_shared else list(images.values_list("node", flat=True))
    try:
        node = node_choose(
            cluster=operation.cluster,
            memory_mb=guest.memory_mb,
            among=pinned_among(candidate_nodes, params),
        )
    except NoCapacity as error:
        return Fail(str(error))
    storage = disk_storage(operation.cluster_id, node.name, guest.disk_gb, "rootdir")
    if storage is None:
        return Fail(f"no storage on {node.name} takes container disks of {guest.disk_gb} GiB")
    Guest.objects.filter(pk=guest.pk).update(node=node.name)
    guest.node = node.name
    submit_once(
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
    return follow(step, client)


@step_handler("vm_create")
def run_vm_create(*, operation: Operation, step: Step, params: dict) -> StepResult:
    """An empty VM with the plan's sizes and the ISO in its CD drive, on a node that has the
    ISO and room for it."""
    guest = operation.guest
    client = client_for(operation.cluster)
    if step.upid:
        return pve_task(step, client, lambda: "")
    try:
        node = node_choose(
            cluster=operation.cluster,
            memory_mb=guest.memory_mb,
            among=pinned_among(image_nodes(operation, params["iso"]), params),
        )
    except NoCapacity as error:
        return Fail(str(error))
    storage = disk_storage(operation.cluster_id, node.name, guest.disk_gb, "images")
    if storage is None:
        return Fail(f"no storage on {node.name} takes VM disks of {guest.disk_gb} GiB")
    Guest.objects.filter(pk=guest.pk).update(node=node.name)
    guest.node = node.name
    return pve_task(
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
