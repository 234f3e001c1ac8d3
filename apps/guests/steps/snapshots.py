"""Operation steps of guest snapshots: create, rollback, delete. Each starts one PVE task, stores
its UPID first and follows it (steps/common.py `pve_task`); a request whose answer was lost
is looked up on PVE (the task list, then the snapshot itself) before it is sent again. After
each, the portal's snapshot mirror is brought up to date from PVE."""

from collections.abc import Callable

from apps.clusters.services import client_for
from apps.guests.models import Guest
from apps.guests.services.snapshots import (
    SNAPSHOT_CREATE,
    lock_message,
    snapshots_mirror,
)
from apps.guests.steps.common import Found, pve_task, pve_task_type, refresh_status, task_of
from apps.operations.models import Operation, Step
from apps.operations.runner import Done, Fail, StepResult, on_finish, step_handler
from apps.proxmox import snapshots as pve_snapshots
from apps.proxmox.client import PveClient
from apps.proxmox.errors import ProxmoxConflict, ProxmoxError
from apps.tenancy.services import reservation_release

# PVE's answer when one of the guest's volumes is on storage without snapshots (plain LVM,
# iSCSI, raw images on file storage).
NO_SNAPSHOT_FEATURE = "snapshot feature is not available"
# PVE's task type (after the qm/vz prefix) of each snapshot action.
TASK_TYPES = {"create": "snapshot", "rollback": "rollback", "delete": "delsnapshot"}


def _locked_clearly(guest: Guest, submit: Callable[[], str]) -> Callable[[], str]:
    """PVE refuses a locked guest with `VM 100 is locked (backup)`: say what the lock means.
    The error stays retryable: the runner tries again with back-off before it gives up. A
    storage without snapshots is said as such (not retried)."""

    def send() -> str:
        try:
            return submit()
        except ProxmoxConflict as error:
            lock = _lock_of(error.message)
            if lock is None:
                raise
            raise ProxmoxConflict(lock_message(guest.vmid, lock), status=error.status) from error
        except ProxmoxError as error:
            if NO_SNAPSHOT_FEATURE in error.message:
                raise ProxmoxError(
                    f"guest {guest.vmid} has a disk on storage that cannot take snapshots "
                    f"(PVE: {error.message}); snapshots need ZFS, LVM-thin, Ceph RBD or Btrfs, "
                    "or qcow2 images on directory, NFS or CIFS storage",
                    status=error.status,
                ) from error
            raise

    return send


def _lock_of(message: str) -> str | None:
    # "VM 100 is locked (snapshot-delete)" / "CT 101 is locked (backup)"
    marker = "is locked ("
    if marker not in message:
        return None
    return message.split(marker, 1)[1].split(")", 1)[0]


def _listing(client: PveClient, guest: Guest) -> pve_snapshots.SnapshotList:
    return pve_snapshots.snapshots_list(
        client, node=guest.node, guest_type=guest.type, vmid=guest.vmid
    )


def _reconcile(
    client: PveClient, step: Step, guest: Guest, action: str, done_on_pve: Callable[[], bool]
) -> Callable[[], Found]:
    """The task the lost request started, else Done if PVE already shows its effect."""
    find_task = task_of(
        client,
        step,
        node=guest.node,
        task_type=pve_task_type(guest, TASK_TYPES[action]),
        vmid=guest.vmid,
    )

    def find() -> Found:
        upid = find_task()
        if upid:
            return upid
        return Done() if done_on_pve() else None

    return find


def _finish_step(client: PveClient, guest: Guest, result: StepResult) -> StepResult:
    if isinstance(result, Done):
        snapshots_mirror(guest=guest, listing=_listing(client, guest))
    return result


@step_handler("snapshot_create")
def run_snapshot_create(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    name = params["name"]

    def submit() -> str:
        return pve_snapshots.snapshot_create(
            client,
            node=guest.node,
            guest_type=guest.type,
            vmid=guest.vmid,
            name=name,
            description=params.get("description", ""),
            vmstate=bool(params.get("vmstate")),
        )

    def exists() -> bool:
        return any(s.name == name for s in _listing(client, guest).snapshots)

    result = pve_task(
        step,
        client,
        _locked_clearly(guest, submit),
        reconcile=_reconcile(client, step, guest, "create", exists),
    )
    return _finish_step(client, guest, result)


@step_handler("snapshot_rollback")
def run_snapshot_rollback(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    name = params["name"]

    def submit() -> str:
        return pve_snapshots.snapshot_rollback(
            client,
            node=guest.node,
            guest_type=guest.type,
            vmid=guest.vmid,
            name=name,
            start=bool(params.get("start")),
        )

    # A rollback leaves no trace to recognise but its task: without one, send it again (a
    # second rollback to the same snapshot gives the same state).
    result = pve_task(
        step,
        client,
        _locked_clearly(guest, submit),
        reconcile=_reconcile(client, step, guest, "rollback", lambda: False),
    )
    if isinstance(result, Done):
        refresh_status(client, guest)
    return _finish_step(client, guest, result)


@step_handler("snapshot_delete")
def run_snapshot_delete(*, operation: Operation, step: Step, params: dict) -> StepResult:
    guest = operation.guest
    if guest is None:
        return Fail("the guest was removed from the portal")
    client = client_for(operation.cluster)
    name = params["name"]

    def submit() -> str:
        return pve_snapshots.snapshot_delete(
            client, node=guest.node, guest_type=guest.type, vmid=guest.vmid, name=name
        )

    def gone() -> bool:
        return all(s.name != name for s in _listing(client, guest).snapshots)

    if not step.upid and step.started_at is None and gone():
        # Deleted meanwhile (on PVE directly): nothing to do but update the mirror.
        step.task_log = f"snapshot '{name}' no longer exists on PVE"
        return _finish_step(client, guest, Done())
    result = pve_task(
        step,
        client,
        _locked_clearly(guest, submit),
        reconcile=_reconcile(client, step, guest, "delete", gone),
    )
    return _finish_step(client, guest, result)


@on_finish(SNAPSHOT_CREATE)
def finish_snapshot_create(operation: Operation) -> None:
    """The snapshot counts itself once mirrored; the reservation that held its place goes."""
    reservation_release(operation=operation)
