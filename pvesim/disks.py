"""Guest disks: allocating, cloning, converting to base images and freeing volumes.

Disk options are property strings whose default key is the volume (``local-lvm:32`` asks for a
new 32 GiB volume, ``local-lvm:vm-100-disk-0,size=32G`` references one). Volume names come from
pvecore.volumes so they match what PVE's storage plugins produce.
"""

from __future__ import annotations

import re

from pvecore.guestconfig import format_size, parse_property_string, render_property_string
from pvecore.volumes import (
    cloudinit_volname,
    disk_volname,
    next_disk_index,
    parse_volname,
    parse_volume_id,
)
from pvesim.errors import die
from pvesim.state import GIB, ClusterState, Guest, Storage, Volume

QEMU_DISK_KEY = re.compile(r"(ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0")
LXC_DISK_KEY = re.compile(r"rootfs|mp\d+")
NEW_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)")
EFI_DISK_SIZE = 4 * 1024**2
TPM_DISK_SIZE = 4 * 1024**2
CLOUDINIT_SIZE = 4 * 1024**2


def is_disk_key(kind: str, key: str) -> bool:
    return bool((QEMU_DISK_KEY if kind == "qemu" else LXC_DISK_KEY).fullmatch(key))


def disk_properties(value: str) -> dict[str, str]:
    return parse_property_string(value, default_key="volume")


def render_disk(properties: dict[str, str]) -> str:
    return render_property_string(properties, default_key="volume")


def is_cdrom(properties: dict[str, str]) -> bool:
    return properties.get("media") == "cdrom"


def guest_volumes(kind: str, config: dict[str, str]) -> list[tuple[str, str]]:
    """(key, volid) of every volume-backed disk in a config section (no CD-ROMs)."""
    result = []
    for key, value in config.items():
        if not (is_disk_key(kind, key) or key.startswith("unused")):
            continue
        props = disk_properties(value)
        if is_cdrom(props) or ":" not in props.get("volume", ""):
            continue
        result.append((key, props["volume"]))
    return result


def _content_for(kind: str) -> str:
    return "images" if kind == "qemu" else "rootdir"


def check_storage_content(storage: Storage, content: str) -> None:
    if content not in storage.content:
        raise die(f"storage '{storage.storeid}' does not support content-type '{content}'")


def _allocate(
    state: ClusterState,
    *,
    storage: Storage,
    node: str,
    vmid: int,
    size: int,
    content: str,
    kind: str,
) -> Volume:
    volumes = state.storage_volumes(storage.storeid, node)
    if (
        storage.type != "lvmthin"
        and state.storage_used(storage.storeid, node) + size > storage.total
    ):
        raise die(f"not enough space on storage '{storage.storeid}'")
    fmt = "qcow2" if storage.file_based and kind == "qemu" else "raw"
    names = [volid.split(":", 1)[1] for volid in volumes]
    index = next_disk_index(names, vmid)
    volname = disk_volname(vmid=vmid, index=index, storage_type=storage.type, fmt=fmt)
    volume = Volume(
        volid=f"{storage.storeid}:{volname}",
        content=content,
        size=size,
        format=fmt,
        ctime=state.now(),
        vmid=vmid,
    )
    volumes[volume.volid] = volume
    state.save_volumes(storage.storeid, node)
    return volume


def allocate_new_disks(state: ClusterState, guest: Guest, *, node: str) -> None:
    """Replace ``<storage>:<size in GiB>`` and ``<storage>:cloudinit`` values by real volumes."""
    for key, value in list(guest.config.items()):
        if not is_disk_key(guest.kind, key):
            continue
        props = disk_properties(value)
        storeid, _, rest = props.get("volume", "").partition(":")
        if not rest or (is_cdrom(props) and rest != "cloudinit"):
            continue
        if rest == "cloudinit":
            storage = state.storage(storeid)
            check_storage_content(storage, "images")
            fmt = "qcow2" if storage.file_based else "raw"
            volname = cloudinit_volname(vmid=guest.vmid, storage_type=storage.type, fmt=fmt)
            volume = Volume(
                f"{storeid}:{volname}", "images", CLOUDINIT_SIZE, fmt, state.now(), guest.vmid
            )
            state.storage_volumes(storeid, node)[volume.volid] = volume
            state.save_volumes(storeid, node)
            guest.config[key] = render_disk({"volume": volume.volid, "media": "cdrom"})
            continue
        if not NEW_SIZE_RE.fullmatch(rest):
            continue
        storage = state.storage(storeid)
        content = _content_for(guest.kind)
        check_storage_content(storage, content)
        if key == "efidisk0":
            size = EFI_DISK_SIZE
        elif key == "tpmstate0":
            size = TPM_DISK_SIZE
        else:
            size = int(float(rest) * GIB)
        volume = _allocate(
            state,
            storage=storage,
            node=node,
            vmid=guest.vmid,
            size=size,
            content=content,
            kind=guest.kind,
        )
        props["volume"] = volume.volid
        props["size"] = format_size(size)
        guest.config[key] = render_disk(props)


def new_disk_requests(kind: str, values: dict[str, str]) -> list[str]:
    """Storage ids that a create/config call would allocate space on."""
    storages = []
    for key, value in values.items():
        if is_disk_key(kind, key):
            storeid, _, rest = disk_properties(value).get("volume", "").partition(":")
            if rest and (NEW_SIZE_RE.fullmatch(rest) or rest == "cloudinit"):
                storages.append(storeid)
    return storages


def clone_volume(
    state: ClusterState,
    volid: str,
    *,
    source_node: str,
    target_node: str,
    newid: int,
    kind: str,
    linked: bool,
    target_storage: str | None,
) -> Volume:
    """Copy (full) or link (on a template's base volume) one disk for a new guest."""
    source = state.find_volume(volid, source_node)
    if source is None:
        raise die(f"volume '{volid}' does not exist")
    storeid, volname = parse_volume_id(volid)
    if linked:
        storage = state.storage(storeid)
        volumes = state.storage_volumes(storeid, target_node)
        names = [v.split(":", 1)[1] for v in volumes]
        index = next_disk_index(names, newid)
        name = disk_volname(vmid=newid, index=index, storage_type=storage.type, fmt=source.format)
        if storage.file_based:
            # <basevmid>/<basename>/<vmid>/<name> on file storages (FACTS §8).
            name = f"{volname}/{name}"
        clone = Volume(
            f"{storeid}:{name}",
            source.content,
            source.size,
            source.format,
            state.now(),
            newid,
            parent=volid,
        )
        volumes[clone.volid] = clone
        state.save_volumes(storeid, target_node)
        return clone
    storage = state.storage(target_storage or storeid)
    return _allocate(
        state,
        storage=storage,
        node=target_node,
        vmid=newid,
        size=source.size,
        content=source.content,
        kind=kind,
    )


def convert_to_base(state: ClusterState, guest: Guest) -> None:
    """Rename a template's disks to ``base-<vmid>-disk-<n>`` (qemu-server's template_create)."""
    for key, volid in guest_volumes(guest.kind, guest.config):
        if key.startswith("unused") or "cloudinit" in volid:
            continue
        storeid, volname = parse_volume_id(volid)
        storage = state.storage(storeid)
        volumes = state.storage_volumes(storeid, guest.node)
        volume = volumes.pop(volid, None)
        if volume is None:
            continue
        info = parse_volname(volname, storage_type=storage.type)
        if info.is_base:
            volumes[volid] = volume
            continue
        base_name = volname.replace(f"vm-{guest.vmid}-", f"base-{guest.vmid}-")
        base_name = base_name.replace(f"subvol-{guest.vmid}-", f"basevol-{guest.vmid}-")
        volume.volid = f"{storeid}:{base_name}"
        volumes[volume.volid] = volume
        state.save_volumes(storeid, guest.node)
        props = disk_properties(guest.config[key])
        props["volume"] = volume.volid
        guest.config[key] = render_disk(props)


def linked_clones_of(state: ClusterState, guest: Guest) -> list[str]:
    own = {volid for _, volid in guest_volumes(guest.kind, guest.config)}
    return [
        volume.volid
        for volumes in state.volumes.values()
        for volume in volumes.values()
        if volume.parent in own
    ]


def free_guest_volumes(state: ClusterState, guest: Guest) -> None:
    """Destroy every image volume owned by the guest (backups stay)."""
    for (storeid, node), volumes in state.volumes.items():
        owned = [
            volid
            for volid, volume in volumes.items()
            if volume.vmid == guest.vmid
            and volume.content in ("images", "rootdir")
            and (node is None or node == guest.node)
        ]
        for volid in owned:
            del volumes[volid]
        if owned:
            state.save_volumes(storeid, node or guest.node)


def move_local_volumes(state: ClusterState, guest: Guest, target: str) -> None:
    """Migration: volumes on node-local storages move to the target node's copy."""
    for storeid, storage in state.storages.items():
        if storage.shared:
            continue
        source = state.storage_volumes(storeid, guest.node)
        moving = [
            volid
            for volid, v in source.items()
            if v.vmid == guest.vmid and v.content in ("images", "rootdir")
        ]
        if not moving:
            continue
        destination = state.storage_volumes(storeid, target)
        for volid in moving:
            destination[volid] = source.pop(volid)
        state.save_volumes(storeid, guest.node)
        state.save_volumes(storeid, target)
