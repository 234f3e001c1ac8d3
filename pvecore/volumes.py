"""Volume ids and volume names (pve-storage `parse_volume_id`, plugins' `parse_volname`).

Block storages name images `vm-<vmid>-disk-<n>`; file storages put them below a `<vmid>/`
directory with a format suffix. Backups are `backup/vzdump-<type>-<vmid>-<local time>.<ext>`.
See FACTS.md section 8.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

VolumeType = Literal["images", "rootdir", "iso", "vztmpl", "backup", "snippets", "import"]
GuestType = Literal["qemu", "lxc"]
Compression = Literal["0", "gzip", "lzo", "zstd"]

BLOCK_STORAGE_TYPES = frozenset({"lvm", "lvmthin", "zfspool", "rbd"})
FILE_STORAGE_TYPES = frozenset({"dir", "nfs", "cifs", "cephfs", "btrfs", "glusterfs"})

# Storages that snapshot any volume; file storages snapshot only qcow2 images.
SNAPSHOT_CAPABLE_STORAGE_TYPES = frozenset({"zfspool", "zfs", "btrfs", "cephfs", "lvmthin", "rbd"})
QCOW2_SNAPSHOT_STORAGE_TYPES = frozenset({"dir", "nfs", "cifs", "glusterfs"})

MAX_VOLUMES_PER_GUEST = 1024

_STORAGE_ID_RE = re.compile(r"[a-z][a-z0-9\-_.]*[a-z0-9]", re.IGNORECASE)
_VOLUME_ID_RE = re.compile(r"([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)", re.IGNORECASE)
_FILE_NAME_RE = re.compile(r"((base-)?[^/\s]+\.(raw|qcow2|vmdk|subvol))")
_BACKUP_EXT = r"(?:tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2))?)"
_BACKUP_NAME_RE = re.compile(
    rf"vzdump-(qemu|lxc|openvz)-(\d+)-(\d{{4}}_\d{{2}}_\d{{2}}-\d{{2}}_\d{{2}}_\d{{2}})\.({_BACKUP_EXT})"
)
_DISK_NUMBER_RE = r"(?:vm|base|subvol|basevol)-{vmid}-disk-(\d+)"
_BACKUP_TIME_FORMAT = "%Y_%m_%d-%H_%M_%S"
# (is a subvolume, is a template base) -> name prefix
_DISK_PREFIX = {
    (False, False): "vm",
    (False, True): "base",
    (True, False): "subvol",
    (True, True): "basevol",
}
_COMPRESSION_SUFFIX: dict[str, str] = {"0": "", "gzip": ".gz", "lzo": ".lzo", "zstd": ".zst"}


@dataclass(frozen=True)
class Volume:
    """What a storage plugin's `parse_volname` returns."""

    vtype: VolumeType
    name: str
    vmid: int | None = None
    base_name: str | None = None
    base_vmid: int | None = None
    format: str | None = None
    is_base: bool = False


@dataclass(frozen=True)
class BackupName:
    guest_type: str  # qemu, lxc, or openvz for very old archives
    vmid: int
    started: datetime  # naive local time, as written in the file name
    ext: str


def parse_volume_id(volid: str) -> tuple[str, str]:
    """Split `<storeid>:<volname>`."""
    match = _VOLUME_ID_RE.fullmatch(volid)
    if match is None:
        raise ValueError(f"unable to parse volume ID '{volid}'")
    return match.group(1), match.group(2)


def is_valid_storage_id(storeid: str) -> bool:
    return _STORAGE_ID_RE.fullmatch(storeid) is not None


def parse_volname(volname: str, *, storage_type: str) -> Volume:
    """Parse a volume name as the plugin of `storage_type` does."""
    if storage_type in BLOCK_STORAGE_TYPES:
        return _parse_block_volname(volname, storage_type=storage_type)
    if storage_type in FILE_STORAGE_TYPES:
        return _parse_file_volname(volname)
    raise ValueError(f"unsupported storage type '{storage_type}'")


def _parse_block_volname(volname: str, *, storage_type: str) -> Volume:
    if storage_type == "lvm":
        match = re.fullmatch(r"(vm-(\d+)-\S+)", volname)
        if match:
            return Volume("images", match.group(1), int(match.group(2)), format="raw")
        raise ValueError(f"unable to parse lvm volume name '{volname}'")
    if storage_type == "lvmthin":
        match = re.fullmatch(r"((vm|base)-(\d+)-\S+)", volname)
        if match:
            return Volume(
                "images",
                match.group(1),
                int(match.group(3)),
                format="raw",
                is_base=match.group(2) == "base",
            )
        raise ValueError(f"unable to parse lvm volume name '{volname}'")
    if storage_type == "zfspool":
        match = re.fullmatch(
            r"(((base|basevol)-(\d+)-\S+)/)?((base|basevol|vm|subvol)-(\d+)-\S+)", volname
        )
        if match:
            kind = match.group(6)
            return Volume(
                "images",
                match.group(5),
                int(match.group(7)),
                base_name=match.group(2),
                base_vmid=int(match.group(4)) if match.group(4) else None,
                format="subvol" if kind in ("subvol", "basevol") else "raw",
                is_base=kind in ("base", "basevol"),
            )
        raise ValueError(f"unable to parse zfs volume name '{volname}'")
    match = re.fullmatch(r"((base-(\d+)-\S+)/)?((base)?(vm)?-(\d+)-\S+)", volname)
    if match:
        return Volume(
            "images",
            match.group(4),
            int(match.group(7)),
            base_name=match.group(2),
            base_vmid=int(match.group(3)) if match.group(3) else None,
            format="raw",
            is_base=match.group(5) is not None,
        )
    raise ValueError(f"unable to parse rbd volume name '{volname}'")


def _parse_file_name(name: str) -> tuple[str, bool]:
    match = _FILE_NAME_RE.fullmatch(name)
    if match is None:
        raise ValueError(f"unable to parse volume filename '{name}'")
    return match.group(3), match.group(2) is not None


def _parse_file_volname(volname: str) -> Volume:
    linked = re.fullmatch(r"(\d+)/(\S+)/(\d+)/(\S+)", volname)
    if linked:
        base_vmid, base_name, vmid, name = linked.groups()
        _parse_file_name(base_name)
        fmt, is_base = _parse_file_name(name)
        return Volume("images", name, int(vmid), base_name, int(base_vmid), fmt, is_base)
    image = re.fullmatch(r"(\d+)/(\S+)", volname)
    if image:
        fmt, is_base = _parse_file_name(image.group(2))
        return Volume("images", image.group(2), int(image.group(1)), format=fmt, is_base=is_base)
    iso = re.fullmatch(r"iso/([^/]+\.(?i:iso|img))", volname)
    if iso:
        return Volume("iso", iso.group(1), format="raw")
    template = re.fullmatch(r"vztmpl/([^/]+\.(?i:tar(?:\.(?:gz|xz|zst|bz2))?))", volname)
    if template:
        return Volume("vztmpl", template.group(1), format="raw")
    rootdir = re.fullmatch(r"rootdir/(\d+)", volname)
    if rootdir:
        return Volume("rootdir", rootdir.group(1), int(rootdir.group(1)))
    backup = re.fullmatch(rf"backup/([^/]+\.{_BACKUP_EXT})", volname)
    if backup:
        owner = re.match(r"vzdump-(?:openvz|lxc|qemu)-(\d+)-.+", backup.group(1))
        return Volume(
            "backup", backup.group(1), int(owner.group(1)) if owner else None, format="raw"
        )
    snippet = re.fullmatch(r"snippets/([^/]+)", volname)
    if snippet:
        return Volume("snippets", snippet.group(1), format="raw")
    imported = re.fullmatch(r"import/([^/]+\.(ova|ovf|qcow2|raw|vmdk))", volname)
    if imported:
        return Volume("import", imported.group(1), format=imported.group(2))
    raise ValueError(f"unable to parse directory volume name '{volname}'")


def disk_volname(
    *, vmid: int, index: int, storage_type: str, fmt: str = "raw", base: bool = False
) -> str:
    """The volume name PVE allocates for disk `index` of `vmid`.

    `fmt='subvol'` gives container subvolumes (`subvol-<vmid>-disk-<n>`, ZFS and btrfs).
    """
    name = f"{_DISK_PREFIX[(fmt == 'subvol', base)]}-{vmid}-disk-{index}"
    if storage_type in BLOCK_STORAGE_TYPES:
        return name
    if storage_type in FILE_STORAGE_TYPES:
        return f"{vmid}/{name}.{fmt}"
    raise ValueError(f"unsupported storage type '{storage_type}'")


def cloudinit_volname(*, vmid: int, storage_type: str, fmt: str = "qcow2") -> str:
    """The cloud-init drive: `vm-<vmid>-cloudinit`, with directory and suffix on file storages."""
    name = f"vm-{vmid}-cloudinit"
    if storage_type in BLOCK_STORAGE_TYPES:
        return name
    if storage_type in FILE_STORAGE_TYPES:
        return f"{vmid}/{name}.{fmt}"
    raise ValueError(f"unsupported storage type '{storage_type}'")


def next_disk_index(existing_volnames: Iterable[str], vmid: int) -> int:
    """The lowest disk number not used by `vmid` (PVE's `get_next_vm_diskname`)."""
    pattern = re.compile(_DISK_NUMBER_RE.format(vmid=vmid))
    used = set()
    for volname in existing_volnames:
        match = pattern.search(volname)
        if match:
            used.add(int(match.group(1)))
    for index in range(MAX_VOLUMES_PER_GUEST):
        if index not in used:
            return index
    raise ValueError(f"unable to allocate an image name for VM {vmid}")


def backup_volname(
    *, guest_type: GuestType, vmid: int, started: datetime, compress: Compression = "zstd"
) -> str:
    """`backup/vzdump-<type>-<vmid>-<YYYY_MM_DD-hh_mm_ss>.<ext>`; `started` is local time."""
    archive = "vma" if guest_type == "qemu" else "tar"
    suffix = _COMPRESSION_SUFFIX[compress]
    stamp = started.strftime(_BACKUP_TIME_FORMAT)
    return f"backup/vzdump-{guest_type}-{vmid}-{stamp}.{archive}{suffix}"


def parse_backup_volname(volname: str) -> BackupName:
    """Parse `backup/vzdump-...` as written by vzdump."""
    match = re.fullmatch(r"backup/" + _BACKUP_NAME_RE.pattern, volname)
    if match is None:
        raise ValueError(f"not a vzdump backup volume name '{volname}'")
    guest_type, vmid, stamp, ext = match.groups()
    return BackupName(guest_type, int(vmid), datetime.strptime(stamp, _BACKUP_TIME_FORMAT), ext)


def storage_supports_snapshots(storage_type: str, fmt: str) -> bool:
    """Whether a volume of format `fmt` on a storage of `storage_type` can be snapshotted."""
    if storage_type in SNAPSHOT_CAPABLE_STORAGE_TYPES:
        return True
    return storage_type in QCOW2_SNAPSHOT_STORAGE_TYPES and fmt == "qcow2"
