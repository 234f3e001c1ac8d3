"""/storage and /nodes/{node}/storage: configuration, status and content (volumes)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pvecore.text import split_list
from pvesim import disks
from pvesim.context import RequestContext
from pvesim.errors import die, param_error, permission_denied
from pvesim.params import NODE, STORAGE, Param, opt
from pvesim.routes import endpoint
from pvesim.state import Storage, Volume
from pvesim.tasks import TaskContext

AUDIT_OR_SPACE = {
    "check": [
        "perm",
        "/storage/{storage}",
        ["Datastore.Audit", "Datastore.AllocateSpace"],
        "any",
        1,
    ]
}


def _visible(ctx: RequestContext, storeid: str) -> bool:
    return ctx.has(f"/storage/{storeid}", ["Datastore.Audit", "Datastore.AllocateSpace"], any_=True)


@endpoint(
    "GET",
    "/storage",
    params=(
        opt(
            "type",
            enum=(
                "btrfs",
                "cephfs",
                "cifs",
                "dir",
                "esxi",
                "iscsi",
                "iscsidirect",
                "lvm",
                "lvmthin",
                "nfs",
                "pbs",
                "rbd",
                "zfs",
                "zfspool",
            ),
        ),
    ),
    permissions={"user": "all"},
)
async def list_storage_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return [
        storage.config()
        for storage in ctx.sim.state.storages.values()
        if params.get("type") in (None, storage.type) and _visible(ctx, storage.storeid)
    ]


def _status(ctx: RequestContext, storage: Storage, node: str) -> dict[str, Any]:
    used = ctx.sim.state.storage_used(storage.storeid, node)
    return {
        "storage": storage.storeid,
        "type": storage.type,
        "content": ",".join(sorted(storage.content)),
        "active": 1,
        "enabled": 1,
        "shared": 1 if storage.shared else 0,
        "total": storage.total,
        "used": used,
        "avail": max(storage.total - used, 0),
        "used_fraction": round(used / storage.total, 6) if storage.total else 0,
    }


@endpoint(
    "GET",
    "/nodes/{node}/storage",
    params=(
        opt("content", format="pve-storage-content-list"),
        opt("enabled", "boolean", default=0),
        opt("format", "boolean", default=0),
        NODE,
        opt("storage", format="pve-storage-id"),
        opt("target", format="pve-node"),
    ),
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def list_node_storage(ctx: RequestContext, params: dict[str, Any]) -> Any:
    wanted = set(split_list(params.get("content", "")))
    items = []
    for storage in ctx.sim.state.storages.values():
        if params.get("storage") not in (None, storage.storeid):
            continue
        if wanted and not wanted & set(storage.content):
            continue
        if _visible(ctx, storage.storeid):
            items.append(_status(ctx, storage, params["node"]))
    return items


@endpoint(
    "GET",
    "/nodes/{node}/storage/{storage}/status",
    params=(NODE, STORAGE),
    permissions=AUDIT_OR_SPACE,
    protected=True,
    proxyto="node",
)
async def storage_status(ctx: RequestContext, params: dict[str, Any]) -> Any:
    status = _status(ctx, ctx.sim.state.storage(params["storage"]), params["node"])
    del status["storage"]
    return status


def check_volume_access(ctx: RequestContext, volume: Volume, *, modify: bool = False) -> None:
    """PVE::Storage::check_volume_access, simplified to the content types we store."""
    storeid = volume.volid.split(":", 1)[0]
    if ctx.has(f"/storage/{storeid}", ["Datastore.Allocate"]):
        return
    space = ctx.has(f"/storage/{storeid}", ["Datastore.AllocateSpace"])
    if volume.content in ("iso", "vztmpl"):
        allowed = not modify and (space or ctx.has(f"/storage/{storeid}", ["Datastore.Audit"]))
    elif volume.vmid is not None:
        privilege = "VM.Backup" if volume.content == "backup" else "VM.Config.Disk"
        allowed = space and ctx.has(f"/vms/{volume.vmid}", [privilege])
    else:
        allowed = False
    if not allowed:
        raise permission_denied()


def _volume(ctx: RequestContext, params: dict[str, Any]) -> Volume:
    volid: str = params["volume"]
    if ":" not in volid:
        volid = f"{params['storage']}:{volid}"
    volume = ctx.sim.state.find_volume(volid, params["node"])
    if volume is None:
        raise die(f"volume '{volid}' does not exist")
    check_volume_access(ctx, volume)
    return volume


@endpoint(
    "GET",
    "/nodes/{node}/storage/{storage}/content",
    params=(
        opt("content", format="pve-storage-content"),
        NODE,
        STORAGE,
        opt("vmid", "integer", minimum=100, maximum=999999999, format="pve-vmid"),
    ),
    permissions=AUDIT_OR_SPACE,
    protected=True,
    proxyto="node",
)
async def list_content(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state = ctx.sim.state
    items = []
    storage_allocate = ctx.has(f"/storage/{params['storage']}", ["Datastore.Allocate"])
    for volume in state.storage_volumes(params["storage"], params["node"]).values():
        if params.get("content") not in (None, volume.content):
            continue
        if "vmid" in params and volume.vmid != params["vmid"]:
            continue
        if volume.vmid is not None and not storage_allocate:
            privilege = "VM.Backup" if volume.content == "backup" else "VM.Audit"
            if not ctx.has(f"/vms/{volume.vmid}", [privilege]):
                continue
        items.append(volume.content_item())
    return sorted(items, key=lambda item: item["volid"])


VOLUME_PARAMS = (NODE, opt("storage", format="pve-storage-id"), Param("volume"))


@endpoint(
    "GET",
    "/nodes/{node}/storage/{storage}/content/{volume}",
    params=VOLUME_PARAMS,
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def get_volume(ctx: RequestContext, params: dict[str, Any]) -> Any:
    volume = _volume(ctx, params)
    storage = ctx.sim.state.storage(volume.volid.split(":", 1)[0])
    base = storage.path or f"/dev/{storage.vgname or 'pve'}"
    item: dict[str, Any] = {
        "path": f"{base}/{volume.volid.split(':', 1)[1]}",
        "size": volume.size,
        "used": volume.size if volume.content not in ("images", "rootdir") else volume.size // 3,
        "format": volume.format,
    }
    if volume.content == "backup":
        item["notes"] = volume.notes or ""
        item["protected"] = 1 if volume.protected else 0
    return item


@endpoint(
    "PUT",
    "/nodes/{node}/storage/{storage}/content/{volume}",
    params=(NODE, opt("notes"), opt("protected", "boolean"), *VOLUME_PARAMS[1:]),
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def update_volume(ctx: RequestContext, params: dict[str, Any]) -> Any:
    volume = _volume(ctx, params)
    check_volume_access(ctx, volume, modify=True)
    if volume.content != "backup" and ("notes" in params or "protected" in params):
        raise die(f"volume '{volume.volid}' does not support notes or protection")
    if "notes" in params:
        volume.notes = params["notes"]
    if "protected" in params:
        volume.protected = params["protected"]
    ctx.sim.state.save_volumes(volume.volid.split(":", 1)[0], params["node"])
    return None


@endpoint(
    "DELETE",
    "/nodes/{node}/storage/{storage}/content/{volume}",
    params=(opt("delay", "integer", minimum=1, maximum=30), *VOLUME_PARAMS),
    permissions={"user": "all"},
    protected=True,
    proxyto="node",
)
async def delete_volume(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state = ctx.sim.state
    volume = _volume(ctx, params)
    check_volume_access(ctx, volume, modify=True)
    if volume.protected:
        raise die(f"volume '{volume.volid}' is protected")
    for guest in state.guests.values():
        if any(volid == volume.volid for _, volid in disks.guest_volumes(guest.kind, guest.config)):
            raise die(f"volume '{volume.volid}' is in use by {guest.kind} {guest.vmid}")
    storeid = volume.volid.split(":", 1)[0]

    async def work(task: TaskContext) -> None:
        await task.sleep(0.5)
        state.storage_volumes(storeid, params["node"]).pop(volume.volid, None)
        state.save_volumes(storeid, params["node"])
        task.log(f"Removed volume '{volume.volid}'")

    return ctx.sim.tasks.start(
        node=params["node"],
        type_="imgdel",
        id_="",
        user=ctx.task_user,
        worker=work,
    )


_DOWNLOAD_NAME = {
    "iso": re.compile(r"[^/\s]+\.(iso|img)", re.IGNORECASE),
    "vztmpl": re.compile(r"[^/\s]+\.tar(\.(gz|xz|zst|bz2))?"),
    "import": re.compile(r"[^/\s]+\.(ova|ovf|qcow2|raw|vmdk)"),
}
DOWNLOAD_SECONDS = 10.0


@endpoint(
    "POST",
    "/nodes/{node}/storage/{storage}/download-url",
    params=(
        opt("checksum"),
        opt("checksum-algorithm", enum=("md5", "sha1", "sha224", "sha256", "sha384", "sha512")),
        opt("compression"),
        Param("content", enum=("iso", "vztmpl", "import"), format="pve-storage-content"),
        Param("filename", max_length=255),
        NODE,
        STORAGE,
        Param("url", pattern="https?://.*"),
        opt("verify-certificates", "boolean", default=1),
    ),
    permissions={
        "check": [
            "and",
            ["perm", "/storage/{storage}", ["Datastore.AllocateTemplate"]],
            [
                "or",
                ["perm", "/", ["Sys.Audit", "Sys.Modify"]],
                ["perm", "/nodes/{node}", ["Sys.AccessNetwork"]],
            ],
        ]
    },
    protected=True,
    proxyto="node",
)
async def download_url(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """Simulates the download: the file appears with a size derived from the URL."""
    state = ctx.sim.state
    storage = state.storage(params["storage"])
    content, filename = params["content"], params["filename"]
    if content not in storage.content:
        raise die(f"storage '{storage.storeid}' is not configured for content-type '{content}'")
    if not _DOWNLOAD_NAME[content].fullmatch(filename):
        raise param_error({"filename": f"invalid filename '{filename}' for content '{content}'"})
    volid = f"{storage.storeid}:{content}/{filename}"
    if state.find_volume(volid, params["node"]) is not None:
        raise die(f"refusing to override existing file '{filename}'")
    digest = hashlib.sha256(params["url"].encode()).digest()
    size = (100 + int.from_bytes(digest[:2]) % 700) * 1024**2

    async def work(task: TaskContext) -> None:
        task.log(f"downloading {params['url']} to {storage.path}/{content}/{filename}")
        await task.sleep(DOWNLOAD_SECONDS)
        fmt = "iso" if content == "iso" else filename.rsplit(".", 1)[-1]
        volume = Volume(volid, content, size, fmt, state.now())
        state.storage_volumes(storage.storeid, params["node"])[volid] = volume
        state.save_volumes(storage.storeid, params["node"])
        task.log(f"download of '{params['url']}' to '{volid}' finished")

    return ctx.sim.tasks.start(
        node=params["node"], type_="download", id_=filename, user=ctx.task_user, worker=work
    )


@endpoint(
    "POST",
    "/nodes/{node}/storage/{storage}/upload",
    params=(
        opt("checksum"),
        opt("checksum-algorithm", enum=("md5", "sha1", "sha224", "sha256", "sha384", "sha512")),
        Param("content", enum=("iso", "vztmpl", "import"), format="pve-storage-content"),
        Param("filename", max_length=255),
        NODE,
        STORAGE,
        opt("tmpfilename", pattern="/var/tmp/pveupload-[0-9a-f]+"),  # noqa: S108 - PVE's pattern
    ),
    permissions={"check": ["perm", "/storage/{storage}", ["Datastore.AllocateTemplate"]]},
    protected=True,
)
async def upload(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """A multipart upload; the volume gets the uploaded size (the bytes are discarded)."""
    state = ctx.sim.state
    storage = state.storage(params["storage"])
    content, filename = params["content"], params["filename"]
    if content not in storage.content:
        raise die(f"storage '{storage.storeid}' is not configured for content-type '{content}'")
    if not _DOWNLOAD_NAME[content].fullmatch(filename):
        raise param_error({"filename": f"invalid filename '{filename}' for content '{content}'"})
    if "filename" not in ctx.uploads:
        raise param_error({"filename": "no file uploaded"})
    volid = f"{storage.storeid}:{content}/{filename}"
    size = ctx.uploads["filename"]

    async def work(task: TaskContext) -> None:
        task.log(f"starting file import from: /var/tmp/pveupload-{task.upid[-9:-1]}")
        await task.sleep(max(size / 200e6, 0.5))
        fmt = "iso" if content == "iso" else filename.rsplit(".", 1)[-1]
        volumes = state.storage_volumes(storage.storeid, params["node"])
        volumes[volid] = Volume(volid, content, size, fmt, state.now())
        state.save_volumes(storage.storeid, params["node"])
        task.log(f"target file: {storage.path}/{content}/{filename}")

    return ctx.sim.tasks.start(
        node=params["node"], type_="imgcopy", id_="", user=ctx.task_user, worker=work
    )


@endpoint(
    "POST",
    "/nodes/{node}/storage/{storage}/content",
    params=(
        Param("filename"),
        opt("format", enum=("raw", "qcow2", "subvol", "vmdk")),
        NODE,
        Param("size", pattern=r"\d+[MG]?"),
        STORAGE,
        Param("vmid", "integer", minimum=100, maximum=999999999, format="pve-vmid"),
    ),
    permissions={"check": ["perm", "/storage/{storage}", ["Datastore.AllocateSpace"]]},
    protected=True,
    proxyto="node",
)
async def allocate(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """Allocate a disk image owned by ``vmid`` (``vm-<vmid>-<name>``)."""
    state = ctx.sim.state
    storage = state.storage(params["storage"])
    vmid, filename = params["vmid"], params["filename"]
    if not re.fullmatch(rf"(vm|base)-{vmid}-\S+", filename):
        raise die(f"illegal name '{filename}' - should be 'vm-{vmid}-*'")
    text = params["size"]
    factor = {"M": 1024**2, "G": 1024**3}.get(text[-1], 1024)  # a bare number means KiB
    size = int(text.rstrip("MG")) * factor
    fmt = params.get("format") or ("qcow2" if storage.file_based else "raw")
    if storage.file_based:
        name = filename if "." in filename else f"{filename}.{fmt}"
        volname = f"{vmid}/{name}"
    else:
        volname = filename
    volid = f"{storage.storeid}:{volname}"
    volumes = state.storage_volumes(storage.storeid, params["node"])
    if volid in volumes:
        raise die(f"volume '{volid}' already exists")
    volumes[volid] = Volume(volid, "images", size, fmt, state.now(), vmid)
    state.save_volumes(storage.storeid, params["node"])
    return volid
