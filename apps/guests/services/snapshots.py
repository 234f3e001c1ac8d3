"""Guest snapshots: the tree as PVE has it; create (with the RAM state of a running VM),
rollback and delete as operations. A guest's plan limits its snapshots, its tenant's quota
limits them all (`snapshots`); PVE's locks are reported as such."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import audit_record
from apps.clusters.services import client_for
from apps.guests.models import CREATING, Guest, Snapshot
from apps.guests.selectors import tenant_guest_usage
from apps.guests.services.rules import (
    guest_lock,
    guest_operation_create,
    refuse_if_busy,
    refuse_if_tenant_inactive,
)
from apps.operations.models import Operation
from apps.proxmox import snapshots as pve_snapshots
from apps.proxmox.snapshots import CURRENT, SnapshotList
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_reserve

# Operation kinds; they are also exclusive with the other guest changes (rules.EXCLUSIVE_KINDS).
SNAPSHOT_CREATE = "guest.snapshot"
SNAPSHOT_ROLLBACK = "guest.rollback"
SNAPSHOT_DELETE = "guest.snapshot_delete"
SNAPSHOT_KINDS = (SNAPSHOT_CREATE, SNAPSHOT_ROLLBACK, SNAPSHOT_DELETE)
# PVE's `pve-configid` format, at most 40 characters.
SNAPSHOT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{1,39}$")
DESCRIPTION_MAX_LENGTH = 8192
# What PVE's lock names mean, for the messages a customer reads.
LOCK_MEANING = {
    "backup": "a backup is running",
    "clone": "it is being cloned",
    "create": "it is being created",
    "migrate": "it is being migrated",
    "rollback": "a snapshot rollback is running",
    "snapshot": "a snapshot is being taken",
    "snapshot-delete": "a snapshot is being deleted",
    "suspended": "it is hibernated",
    "suspending": "it is being hibernated",
    "disk": "a disk is being changed",
    "destroyed": "it is being destroyed",
}


def lock_message(vmid: int, lock: str) -> str:
    meaning = LOCK_MEANING.get(lock, "PVE is busy with it")
    return f"guest {vmid} is locked on PVE ({lock}): {meaning}; try again when it has finished"


# -- reads ---------------------------------------------------------------------------------


@dataclass
class SnapshotNode:
    name: str
    description: str
    parent: str
    vmstate: bool
    created_at: datetime | None
    children: list["SnapshotNode"] = field(default_factory=list)


@dataclass(frozen=True)
class SnapshotTree:
    """Root snapshots with their children, oldest first; `current_parent` is where the guest's
    present state hangs in the tree ("You are here" in PVE's GUI)."""

    roots: list[SnapshotNode]
    current_parent: str
    running: bool
    count: int
    limit: int | None  # the plan's per-guest limit; None for a guest without a plan


def snapshot_tree(*, guest: Guest) -> SnapshotTree:
    """Read the guest's snapshots from PVE (the caller has found the guest through the scoped
    `guest_get`) and bring the portal's mirror up to date with them."""
    listing = pve_snapshots.snapshots_list(
        client_for(guest.cluster), node=guest.node, guest_type=guest.type, vmid=guest.vmid
    )
    snapshots_mirror(guest=guest, listing=listing)
    nodes = {
        info.name: SnapshotNode(
            name=info.name,
            description=info.description,
            parent=info.parent,
            vmstate=info.vmstate,
            created_at=_time(info.snaptime),
        )
        for info in listing.snapshots
    }
    roots: list[SnapshotNode] = []
    for node in sorted(nodes.values(), key=_age):
        parent = nodes.get(node.parent)
        (parent.children if parent is not None else roots).append(node)
    return SnapshotTree(
        roots=roots,
        current_parent=listing.current_parent,
        running=listing.running,
        count=len(nodes),
        limit=guest.plan.snapshots if guest.plan is not None else None,
    )


def _time(snaptime: int | None) -> datetime | None:
    return datetime.fromtimestamp(snaptime, tz=UTC) if snaptime is not None else None


def _age(node: SnapshotNode) -> tuple[datetime, str]:
    return (node.created_at or datetime.min.replace(tzinfo=UTC), node.name)


def snapshots_mirror(*, guest: Guest, listing: SnapshotList) -> None:
    """Make the mirror what PVE listed: the quota and plan limits count it."""
    with transaction.atomic():
        # The guest's row serializes mirrors (a page's read, a worker's step): two that both
        # found a snapshot new would both insert it.
        list(Guest.objects.select_for_update().filter(pk=guest.pk).values_list("pk", flat=True))
        known = {s.name: s for s in Snapshot.objects.filter(guest=guest)}
        listed = {info.name for info in listing.snapshots}
        Snapshot.objects.filter(guest=guest).exclude(name__in=listed).delete()
        for info in listing.snapshots:
            values = {
                "description": info.description,
                "parent": info.parent,
                "vmstate": info.vmstate,
                "snaptime": _time(info.snaptime),
            }
            row = known.get(info.name)
            if row is None:
                Snapshot.objects.create(guest=guest, name=info.name, **values)
            elif any(getattr(row, key) != value for key, value in values.items()):
                Snapshot.objects.filter(pk=row.pk).update(**values)


def snapshot_get(*, guest: Guest, name: str) -> Snapshot:
    """A snapshot of a guest the caller found through the scoped `guest_get`, as last seen."""
    snapshot = Snapshot.objects.filter(guest=guest, name=name).first()
    if snapshot is None:
        raise Http404("no such snapshot")
    return snapshot


# -- changes -------------------------------------------------------------------------------


def _refuse_unless_snapshottable(guest: Guest, actor: Principal) -> None:
    if guest.status == CREATING or guest.vanished_at is not None:
        raise ValidationError(f"guest {guest.vmid} cannot be changed now")
    if guest.template:
        raise ValidationError(f"{guest.vmid} is a template; PVE does not snapshot templates")
    refuse_if_tenant_inactive(guest, actor)
    refuse_if_busy(guest)
    if guest.lock:
        raise ValidationError(lock_message(guest.vmid, guest.lock))


def snapshot_create(
    *,
    guest: Guest,
    actor: Principal,
    name: str,
    description: str = "",
    vmstate: bool = False,
    idempotency_key: str = "",
) -> Operation:
    """Take a snapshot; with `vmstate` a running VM's RAM is saved too, so a rollback resumes
    it where it was. Counted against the guest's plan (per guest) and the tenant's quota."""
    errors: dict[str, str] = {}
    if not SNAPSHOT_NAME.match(name) or name == CURRENT:
        errors["name"] = "a letter, then letters, digits or '_'; 2 to 40 characters, not 'current'"
    if len(description) > DESCRIPTION_MAX_LENGTH:
        errors["description"] = f"at most {DESCRIPTION_MAX_LENGTH} characters"
    if vmstate and guest.type != Guest.Type.QEMU:
        errors["vmstate"] = "only VMs keep their RAM state; a container snapshot has none"
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        require(actor, ["VM.Snapshot"], guest.acl_path)
        guest = guest_lock(guest, "plan")
        _refuse_unless_snapshottable(guest, actor)
        if guest.snapshots.filter(name=name).exists():
            raise ValidationError({"name": f"guest {guest.vmid} already has a snapshot '{name}'"})
        if guest.plan is not None:
            # No other snapshot operation runs on this guest (refused as busy above).
            taken = guest.snapshots.count()
            if taken >= guest.plan.snapshots:
                raise ValidationError(
                    f"plan '{guest.plan.slug}' allows {guest.plan.snapshots} snapshot(s) per "
                    f"guest and guest {guest.vmid} has {taken}: delete one first"
                )
        operation = guest_operation_create(
            kind=SNAPSHOT_CREATE,
            guest=guest,
            actor=actor,
            steps=[
                (
                    "snapshot_create",
                    {"name": name, "description": description, "vmstate": vmstate},
                )
            ],
            idempotency_key=idempotency_key,
        )
        if guest.tenant is not None:
            quota_reserve(
                tenant=guest.tenant,
                operation=operation,
                need=Resources(snapshots=1),
                in_use=lambda: tenant_guest_usage(tenant=guest.tenant),
            )
        audit_record(
            action="guests.snapshot_create",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk), "name": name, "vmstate": vmstate},
        )
    return operation


def snapshot_rollback(
    *,
    guest: Guest,
    actor: Principal,
    name: str,
    start: bool = False,
    idempotency_key: str = "",
) -> Operation:
    """Return the guest to a snapshot: what changed since is lost. A snapshot with RAM state
    resumes the VM; otherwise it ends stopped, or started again with `start`."""
    with transaction.atomic():
        # PVE: VM.Snapshot or VM.Snapshot.Rollback.
        require(actor, ["VM.Snapshot", "VM.Snapshot.Rollback"], guest.acl_path, any_=True)
        guest = guest_lock(guest)
        _refuse_unless_snapshottable(guest, actor)
        snapshot_get(guest=guest, name=name)
        operation = guest_operation_create(
            kind=SNAPSHOT_ROLLBACK,
            guest=guest,
            actor=actor,
            steps=[("snapshot_rollback", {"name": name, "start": start})],
            idempotency_key=idempotency_key,
        )
        audit_record(
            action="guests.snapshot_rollback",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk), "name": name, "start": start},
        )
    return operation


def snapshot_delete(
    *, guest: Guest, actor: Principal, name: str, idempotency_key: str = ""
) -> Operation:
    with transaction.atomic():
        require(actor, ["VM.Snapshot"], guest.acl_path)
        guest = guest_lock(guest)
        _refuse_unless_snapshottable(guest, actor)
        snapshot_get(guest=guest, name=name)
        operation = guest_operation_create(
            kind=SNAPSHOT_DELETE,
            guest=guest,
            actor=actor,
            steps=[("snapshot_delete", {"name": name})],
            idempotency_key=idempotency_key,
        )
        audit_record(
            action="guests.snapshot_delete",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk), "name": name},
        )
    return operation
