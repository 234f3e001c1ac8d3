"""Backups on PVE: start vzdump for one guest, list a storage's backup volumes of a guest."""

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


def backups_list(client: PveClient, *, node: str, storage: str, vmid: int) -> list[BackupVolume]:
    items = client.get(f"nodes/{node}/storage/{storage}/content", content="backup", vmid=vmid)
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
