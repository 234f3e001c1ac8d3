"""Volume ids and names (FACTS.md section 8; pve-storage plugins' parse_volname)."""

from datetime import datetime
from typing import Any

import pytest

from pvecore.volumes import (
    BackupName,
    Volume,
    backup_volname,
    cloudinit_volname,
    disk_volname,
    is_valid_storage_id,
    next_disk_index,
    parse_backup_volname,
    parse_volname,
    parse_volume_id,
    storage_supports_snapshots,
)


@pytest.mark.parametrize(
    ("volid", "parts"),
    [
        ("local-lvm:vm-100-disk-0", ("local-lvm", "vm-100-disk-0")),
        (
            "local:backup/vzdump-qemu-100-2025_01_31-02_00_03.vma.zst",
            ("local", "backup/vzdump-qemu-100-2025_01_31-02_00_03.vma.zst"),
        ),
        ("pbs:backup/vm/100/2025-01-31T01:00:03Z", ("pbs", "backup/vm/100/2025-01-31T01:00:03Z")),
    ],
)
def test_parse_volume_id(volid: str, parts: tuple[str, str]) -> None:
    assert parse_volume_id(volid) == parts


@pytest.mark.parametrize("volid", ["vm-100-disk-0", "1local:x", "local-:x", "local:"])
def test_parse_volume_id_refuses(volid: str) -> None:
    with pytest.raises(ValueError, match="unable to parse volume ID"):
        parse_volume_id(volid)


@pytest.mark.parametrize(
    ("storage_type", "volname", "volume"),
    [
        ("lvmthin", "vm-100-disk-0", Volume("images", "vm-100-disk-0", 100, format="raw")),
        (
            "lvmthin",
            "base-100-disk-0",
            Volume("images", "base-100-disk-0", 100, format="raw", is_base=True),
        ),
        ("lvm", "vm-100-disk-1", Volume("images", "vm-100-disk-1", 100, format="raw")),
        (
            "zfspool",
            "subvol-101-disk-0",
            Volume("images", "subvol-101-disk-0", 101, format="subvol"),
        ),
        (
            "zfspool",
            "base-100-disk-0/vm-101-disk-0",
            Volume("images", "vm-101-disk-0", 101, "base-100-disk-0", 100, "raw"),
        ),
        ("rbd", "vm-100-disk-0", Volume("images", "vm-100-disk-0", 100, format="raw")),
        (
            "rbd",
            "base-100-disk-0/vm-101-disk-0",
            Volume("images", "vm-101-disk-0", 101, "base-100-disk-0", 100, "raw"),
        ),
        (
            "dir",
            "100/vm-100-disk-0.qcow2",
            Volume("images", "vm-100-disk-0.qcow2", 100, format="qcow2"),
        ),
        (
            "nfs",
            "100/base-100-disk-0.raw",
            Volume("images", "base-100-disk-0.raw", 100, format="raw", is_base=True),
        ),
        (
            "dir",
            "100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2",
            Volume("images", "vm-101-disk-0.qcow2", 101, "base-100-disk-0.qcow2", 100, "qcow2"),
        ),
        ("dir", "iso/debian-12.iso", Volume("iso", "debian-12.iso", format="raw")),
        (
            "cifs",
            "vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            Volume("vztmpl", "debian-12-standard_12.7-1_amd64.tar.zst", format="raw"),
        ),
        (
            "dir",
            "backup/vzdump-qemu-100-2025_01_31-02_00_03.vma.zst",
            Volume("backup", "vzdump-qemu-100-2025_01_31-02_00_03.vma.zst", 100, format="raw"),
        ),
        (
            "dir",
            "backup/vzdump-lxc-101-2025_01_31-02_00_03.tgz",
            Volume("backup", "vzdump-lxc-101-2025_01_31-02_00_03.tgz", 101, format="raw"),
        ),
        ("dir", "snippets/user-data.yaml", Volume("snippets", "user-data.yaml", format="raw")),
        ("dir", "import/appliance.ova", Volume("import", "appliance.ova", format="ova")),
        ("dir", "rootdir/105", Volume("rootdir", "105", 105)),
    ],
)
def test_parse_volname(storage_type: str, volname: str, volume: Volume) -> None:
    assert parse_volname(volname, storage_type=storage_type) == volume


@pytest.mark.parametrize(
    ("storage_type", "volname"),
    [
        ("lvm", "base-100-disk-0"),
        ("lvmthin", "disk-0"),
        ("dir", "100/vm-100-disk-0.img"),
        ("dir", "iso/readme.txt"),
        ("dir", "backup/vzdump-qemu-100.vma.xz"),
    ],
)
def test_parse_volname_refuses(storage_type: str, volname: str) -> None:
    with pytest.raises(ValueError, match="unable to parse"):
        parse_volname(volname, storage_type=storage_type)


@pytest.mark.parametrize(
    ("storeid", "valid"),
    [
        ("local", True),
        ("local-lvm", True),
        ("Ceph.1", True),
        ("a", False),
        ("1x", False),
        ("x-", False),
    ],
)
def test_storage_ids(storeid: str, valid: bool) -> None:
    assert is_valid_storage_id(storeid) is valid


def test_unknown_storage_type() -> None:
    with pytest.raises(ValueError, match="unsupported storage type 'iscsi'"):
        parse_volname("lun0", storage_type="iscsi")


@pytest.mark.parametrize(
    ("kwargs", "volname"),
    [
        ({"storage_type": "lvmthin"}, "vm-100-disk-0"),
        ({"storage_type": "lvmthin", "base": True}, "base-100-disk-0"),
        ({"storage_type": "zfspool", "fmt": "subvol"}, "subvol-100-disk-0"),
        ({"storage_type": "dir", "fmt": "qcow2"}, "100/vm-100-disk-0.qcow2"),
        ({"storage_type": "nfs", "fmt": "raw", "base": True}, "100/base-100-disk-0.raw"),
    ],
)
def test_disk_volname(kwargs: dict[str, Any], volname: str) -> None:
    assert disk_volname(vmid=100, index=0, **kwargs) == volname


def test_cloudinit_volname() -> None:
    assert cloudinit_volname(vmid=100, storage_type="lvmthin") == "vm-100-cloudinit"
    assert cloudinit_volname(vmid=100, storage_type="dir") == "100/vm-100-cloudinit.qcow2"
    assert cloudinit_volname(vmid=100, storage_type="nfs", fmt="raw") == "100/vm-100-cloudinit.raw"


def test_next_disk_index_takes_the_lowest_free_number() -> None:
    existing = ["vm-100-disk-0", "vm-100-disk-2", "base-101-disk-1", "vm-1000-disk-1"]
    assert next_disk_index(existing, 100) == 1
    assert next_disk_index(["100/vm-100-disk-0.qcow2", "subvol-100-disk-1"], 100) == 2
    assert next_disk_index([], 100) == 0


def test_backup_volname_matches_the_documented_example() -> None:
    started = datetime(2025, 1, 31, 2, 0, 3)
    expected = "backup/vzdump-qemu-100-2025_01_31-02_00_03.vma.zst"
    assert backup_volname(guest_type="qemu", vmid=100, started=started) == expected
    assert (
        backup_volname(guest_type="lxc", vmid=101, started=started, compress="gzip")
        == "backup/vzdump-lxc-101-2025_01_31-02_00_03.tar.gz"
    )
    assert backup_volname(guest_type="qemu", vmid=100, started=started, compress="0").endswith(
        ".vma"
    )


def test_parse_backup_volname_round_trips() -> None:
    started = datetime(2025, 12, 1, 23, 59, 59)
    volname = backup_volname(guest_type="lxc", vmid=4242, started=started, compress="lzo")
    assert parse_backup_volname(volname) == BackupName("lxc", 4242, started, "tar.lzo")
    with pytest.raises(ValueError, match="not a vzdump backup"):
        parse_backup_volname("backup/other.tar")


@pytest.mark.parametrize(
    ("storage_type", "fmt", "supported"),
    [
        ("zfspool", "raw", True),
        ("lvmthin", "raw", True),
        ("rbd", "raw", True),
        ("btrfs", "raw", True),
        ("cephfs", "raw", True),
        ("dir", "qcow2", True),
        ("nfs", "raw", False),
        ("lvm", "raw", False),
        ("iscsi", "raw", False),
    ],
)
def test_snapshot_support(storage_type: str, fmt: str, supported: bool) -> None:
    assert storage_supports_snapshots(storage_type, fmt) is supported
