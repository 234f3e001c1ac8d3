"""Backups on PVE: start vzdump for one guest, list a storage's backup volumes, change or
delete one, and restore one over its guest or into a new one."""

from dataclasses import dataclass

from apps.proxmox.client import PveClient


@dataclass(frozen=True)
class BackupVolume:
    volid: str
    format: str
    size: int
    ctime: int | None  # epoch seconds
    vmid: int | None
    notes: str
    protected: bool


def backup_start(
    client: PveClient,
    *,
    node: str,
    vmid: int,
    storage: str,
    mode: str = "snapshot",
    notes_template: str = "",
    protected: bool = False,
) -> str:
    """POST /nodes/{node}/vzdump for one guest; returns the UPID of the vzdump task."""
    params: dict[str, object] = {
        "vmid": str(vmid),
        "storage": storage,
        "mode": mode,
        "compress": "zstd",
    }
    if notes_template:
        params["notes-template"] = notes_template
    if protected:
        params["protected"] = 1
    return str(client.post(f"nodes/{node}/vzdump", **params))


def backups_list(
    client: PveClient, *, node: str, storage: str, vmid: int | None = None
) -> list[BackupVolume]:
    """The backup volumes on the storage as `node` sees it: of one guest, or all of them."""
    params: dict[str, object] = {"content": "backup"}
    if vmid is not None:
        params["vmid"] = vmid
    items = client.get(f"nodes/{node}/storage/{storage}/content", **params)
    return [
        BackupVolume(
            volid=str(item["volid"]),
            format=str(item.get("format", "")),
            size=int(item.get("size") or 0),
            ctime=int(item["ctime"]) if item.get("ctime") is not None else None,
            vmid=int(item["vmid"]) if item.get("vmid") is not None else None,
            notes=str(item.get("notes") or ""),
            protected=bool(int(item.get("protected") or 0)),
        )
        for item in items
        if item.get("content", "backup") == "backup"
    ]


def backup_update(
    client: PveClient,
    *,
    node: str,
    volid: str,
    notes: str | None = None,
    protected: bool | None = None,
) -> None:
    """PUT the volume's notes and protection (PVE refuses to delete or prune protected ones)."""
    params: dict[str, object] = {}
    if notes is not None:
        params["notes"] = notes
    if protected is not None:
        params["protected"] = int(protected)
    storage = volid.split(":", 1)[0]
    client.put(f"nodes/{node}/storage/{storage}/content/{volid}", **params)


def backup_delete(client: PveClient, *, node: str, volid: str) -> str:
    """DELETE the volume; returns the UPID of PVE's removal task."""
    storage = volid.split(":", 1)[0]
    return str(client.delete(f"nodes/{node}/storage/{storage}/content/{volid}"))


def backup_restore(
    client: PveClient,
    *,
    node: str,
    guest_type: str,
    vmid: int,
    volid: str,
    name: str,
    pool: str = "",
    overwrite: bool = False,
) -> str:
    """Create the guest `vmid` from the archive (`force` replaces the stopped guest of that
    VMID); returns the UPID of PVE's qmrestore / vzrestore task."""
    params: dict[str, object] = {"vmid": vmid}
    if guest_type == "qemu":
        params.update(archive=volid, name=name)
        if not overwrite:
            params["unique"] = 1  # a copy gets its own MAC addresses
    else:
        params.update(ostemplate=volid, restore=1, hostname=name)
    if overwrite:
        params["force"] = 1
    elif pool:
        params["pool"] = pool
    return str(client.post(f"nodes/{node}/{guest_type}", **params))
