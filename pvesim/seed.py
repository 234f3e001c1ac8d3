"""First-start content: the bare cluster, the ``demo`` seed and ``--guests N`` scale guests.

Bare: N nodes, storages ``local`` (dir), ``local-lvm`` (lvmthin) and ``shared-nfs`` (nfs), and
root@pam with a random password. Demo adds ISO images, CT templates and two cloud-init ready
QEMU templates (9000 on shared-nfs, 9001 on local-lvm of the first node).
"""

from __future__ import annotations

import secrets
import time
import uuid

from pvecore.usercfg import User
from pvesim.state import GIB, ClusterState, Guest, Node, Storage, Volume
from pvesim.users import ROOT, AccessStore

TIB = 1024 * GIB
ISO_IMAGES = {
    "debian-12.8.0-amd64-netinst.iso": 631 * 1024**2,
    "ubuntu-24.04.1-live-server-amd64.iso": 2689 * 1024**2,
}
CT_TEMPLATES = {
    "debian-12-standard_12.7-1_amd64.tar.zst": 120 * 1024**2,
    "ubuntu-24.04-standard_24.04-2_amd64.tar.zst": 141 * 1024**2,
    "alpine-3.20-default_20240908_amd64.tar.xz": 3 * 1024**2,
}


def seed_cluster(state: ClusterState, access: AccessStore, *, nodes: int) -> str:
    """Create the bare cluster and root@pam; return root's password."""
    now = int(time.time())
    state.nodes = {
        f"pve{i}": Node(
            name=f"pve{i}", nodeid=i, ip=f"10.0.0.{10 + i}", booted=now - 86400 * (10 + i)
        )
        for i in range(1, nodes + 1)
    }
    state.storages = {
        "local": Storage(
            "local", "dir", ["iso", "vztmpl", "backup"], False, 100 * GIB, path="/var/lib/vz"
        ),
        "local-lvm": Storage(
            "local-lvm",
            "lvmthin",
            ["images", "rootdir"],
            False,
            500 * GIB,
            vgname="pve",
            thinpool="data",
        ),
        "shared-nfs": Storage(
            "shared-nfs",
            "nfs",
            ["images", "rootdir", "backup", "iso"],
            True,
            16 * TIB,
            path="/mnt/pve/shared-nfs",
            server="10.0.0.100",
            export="/export/pve",
        ),
    }
    for storage in state.storages.values():
        for node in [None] if storage.shared else list(state.nodes):
            state.volumes[(storage.storeid, node)] = {}
    state.save_cluster()
    access.config.users[ROOT] = User(email="root@localhost", comment="")
    access.save()
    password = secrets.token_urlsafe(12)
    access.set_password(ROOT, password)
    return password


def _add_volume(state: ClusterState, storeid: str, node: str | None, volume: Volume) -> None:
    state.volumes[(storeid, node if not state.storages[storeid].shared else None)][volume.volid] = (
        volume
    )


def seed_demo(state: ClusterState) -> None:
    now = int(time.time())
    first = next(iter(state.nodes))
    for node in state.nodes:
        for name, size in ISO_IMAGES.items():
            _add_volume(state, "local", node, Volume(f"local:iso/{name}", "iso", size, "iso", now))
        for name, size in CT_TEMPLATES.items():
            fmt = "tzst" if name.endswith(".zst") else "txz"
            _add_volume(
                state, "local", node, Volume(f"local:vztmpl/{name}", "vztmpl", size, fmt, now)
            )
    for name, size in ISO_IMAGES.items():
        _add_volume(
            state, "shared-nfs", None, Volume(f"shared-nfs:iso/{name}", "iso", size, "iso", now)
        )
    templates = (
        (
            9000,
            "debian12-cloud",
            "shared-nfs",
            "9000/base-9000-disk-0.qcow2",
            "qcow2",
            "9000/vm-9000-cloudinit.qcow2",
            "debian",
        ),
        (
            9001,
            "ubuntu2404-cloud",
            "local-lvm",
            "base-9001-disk-0",
            "raw",
            "vm-9001-cloudinit",
            "ubuntu",
        ),
    )
    for vmid, name, storeid, disk, fmt, cloudinit, ciuser in templates:
        disk_id, cloudinit_id = f"{storeid}:{disk}", f"{storeid}:{cloudinit}"
        _add_volume(state, storeid, first, Volume(disk_id, "images", 8 * GIB, fmt, now, vmid))
        _add_volume(
            state, storeid, first, Volume(cloudinit_id, "images", 4 * 1024**2, fmt, now, vmid)
        )
        config = {
            "name": name,
            "memory": "2048",
            "cores": "2",
            "sockets": "1",
            "cpu": "x86-64-v2-AES",
            "ostype": "l26",
            "scsihw": "virtio-scsi-single",
            "scsi0": f"{disk_id},discard=on,iothread=1,size=8G",
            "ide2": f"{cloudinit_id},media=cdrom",
            "boot": "order=scsi0",
            "net0": f"virtio=BC:24:11:00:{vmid % 100:02X}:01,bridge=vmbr0",
            "serial0": "socket",
            "vga": "serial0",
            "agent": "1",
            "ciuser": ciuser,
            "ipconfig0": "ip=dhcp",
            "smbios1": f"uuid={uuid.UUID(int=vmid)}",
            "vmgenid": str(uuid.UUID(int=vmid + 1)),
            "tags": "template;cloud-init",
            "template": "1",
        }
        state.guests[vmid] = Guest(vmid, "qemu", first, config)
    _save_everything(state)


def seed_scale_guests(state: ClusterState, count: int) -> None:
    """Pre-create ``count`` small guests across nodes (every tenth one a container)."""
    now = int(time.time())
    node_names = list(state.nodes)
    vmid = 1000
    created = 0
    while created < count:
        while vmid in state.guests:
            vmid += 1
        node = node_names[created % len(node_names)]
        kind = "lxc" if created % 10 == 9 else "qemu"
        volid = f"local-lvm:vm-{vmid}-disk-0"
        _add_volume(
            state,
            "local-lvm",
            node,
            Volume(volid, "images" if kind == "qemu" else "rootdir", 4 * GIB, "raw", now, vmid),
        )
        if kind == "qemu":
            config = {
                "name": f"scale-{vmid}",
                "memory": "1024",
                "cores": "1",
                "ostype": "l26",
                "scsi0": f"{volid},size=4G",
                "net0": "virtio=BC:24:11:AA:00:01,bridge=vmbr0",
            }
        else:
            config = {
                "hostname": f"scale-{vmid}",
                "memory": "512",
                "cores": "1",
                "ostype": "debian",
                "arch": "amd64",
                "rootfs": f"{volid},size=4G",
                "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:00:02,ip=dhcp",
            }
        guest = Guest(vmid, kind, node, config)
        if created % 3 == 0:
            guest.status, guest.started = "running", now - created
        state.guests[vmid] = guest
        created += 1
        vmid += 1
    _save_everything(state)


def _save_everything(state: ClusterState) -> None:
    for storeid, node in list(state.volumes):
        state.save_volumes(storeid, node)
    for guest in state.guests.values():
        state.save_guest(guest)
