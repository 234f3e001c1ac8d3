"""Guest snapshots on PVE: list, create, rollback, delete. The changes return the UPID of the
task PVE started (qmsnapshot, qmrollback, qmdelsnapshot; vz* for containers)."""

from dataclasses import dataclass

from apps.proxmox.client import PveClient
from apps.proxmox.guests import GuestType

# PVE's name for "the guest as it is now" in the snapshot list; never a snapshot's name.
CURRENT = "current"


@dataclass(frozen=True)
class SnapshotInfo:
    name: str
    description: str
    parent: str  # "" for a root snapshot
    snaptime: int | None  # epoch seconds
    vmstate: bool  # with the VM's RAM (qemu only)


@dataclass(frozen=True)
class SnapshotList:
    snapshots: list[SnapshotInfo]
    current_parent: str  # the snapshot the guest's current state descends from, or ""
    running: bool


def snapshots_list(
    client: PveClient, *, node: str, guest_type: GuestType, vmid: int
) -> SnapshotList:
    items = client.get(f"nodes/{node}/{guest_type}/{vmid}/snapshot")
    snapshots, current = [], {}
    for item in items:
        if item.get("name") == CURRENT:
            current = item
            continue
        snapshots.append(
            SnapshotInfo(
                name=str(item["name"]),
                description=str(item.get("description") or ""),
                parent=str(item.get("parent") or ""),
                snaptime=int(item["snaptime"]) if item.get("snaptime") is not None else None,
                vmstate=bool(int(item.get("vmstate") or 0)),
            )
        )
    return SnapshotList(
        snapshots=snapshots,
        current_parent=str(current.get("parent") or ""),
        running=bool(int(current.get("running") or 0)),
    )


def snapshot_create(
    client: PveClient,
    *,
    node: str,
    guest_type: GuestType,
    vmid: int,
    name: str,
    description: str = "",
    vmstate: bool = False,
) -> str:
    options: dict[str, object] = {"snapname": name}
    if description:
        options["description"] = description
    if vmstate:
        if guest_type != "qemu":
            raise ValueError("only VMs keep their RAM state in a snapshot")
        options["vmstate"] = 1
    return str(client.post(f"nodes/{node}/{guest_type}/{vmid}/snapshot", **options))


def snapshot_rollback(
    client: PveClient, *, node: str, guest_type: GuestType, vmid: int, name: str, start: bool
) -> str:
    options = {"start": 1} if start else {}
    return str(client.post(f"nodes/{node}/{guest_type}/{vmid}/snapshot/{name}/rollback", **options))


def snapshot_delete(
    client: PveClient, *, node: str, guest_type: GuestType, vmid: int, name: str
) -> str:
    return str(client.delete(f"nodes/{node}/{guest_type}/{vmid}/snapshot/{name}"))
