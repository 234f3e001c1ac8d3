"""The simulated cluster: nodes, storages, volumes and guests, persisted in the data directory.

Layout of DIR (mirrors /etc/pve where it can):
  cluster.json                               cluster name, nodes, storages, backup jobs
  nodes/<node>/qemu-server/<vmid>.conf       guest configs in PVE's format (pvecore.guestconfig)
  nodes/<node>/lxc/<vmid>.conf
  run/<vmid>.json                            runtime state of guests that are not stopped
  guest-agent/<vmid>.json                    passwords set through a VM's guest agent (hashed)
  volumes/<storage>[@<node>].json            the volumes on each storage (per node if local)

Every write goes through :func:`pvesim.store.atomic_write`. Everything runs on one asyncio loop,
so mutations need no locking; PVE's own ``lock`` config key is modelled explicitly.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pvecore.guestconfig import config_digest
from pvesim import confio
from pvesim.errors import PveError, config_missing, die, guest_locked
from pvesim.store import atomic_write, read_json, remove, write_json

GIB = 1024**3
NEXTID_LOWER, NEXTID_UPPER = 100, 1_000_000


@dataclass
class Node:
    name: str
    nodeid: int
    ip: str
    cpus: int = 16
    memory: int = 64 * GIB
    online: bool = True
    booted: int = 0  # epoch of the simulated boot, for uptime


@dataclass
class Storage:
    storeid: str
    type: str
    content: list[str]
    shared: bool
    total: int
    path: str | None = None
    vgname: str | None = None
    thinpool: str | None = None
    server: str | None = None
    export: str | None = None

    @property
    def file_based(self) -> bool:
        return self.type in ("dir", "nfs", "cifs", "cephfs", "btrfs", "glusterfs")

    def config(self) -> dict[str, Any]:
        """The /storage item: storage.cfg keys."""
        item: dict[str, Any] = {
            "storage": self.storeid,
            "type": self.type,
            "content": ",".join(sorted(self.content)),
        }
        for key in ("path", "vgname", "thinpool", "server", "export"):
            if getattr(self, key):
                item[key] = getattr(self, key)
        if self.shared and self.type not in ("nfs", "cifs", "cephfs", "rbd"):
            item["shared"] = 1
        if self.type in ("dir", "nfs"):
            item["prune-backups"] = "keep-all=1"
        return item


@dataclass
class Volume:
    volid: str
    content: str  # images | rootdir | iso | vztmpl | backup
    size: int
    format: str
    ctime: int
    vmid: int | None = None
    notes: str | None = None
    protected: bool = False
    parent: str | None = None
    # For backups: the guest config at backup time, so restore and extractconfig work.
    guest_config: str | None = None
    subtype: str | None = None  # qemu | lxc for backups

    def content_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "volid": self.volid,
            "content": self.content,
            "format": self.format,
            "size": self.size,
            "ctime": self.ctime,
        }
        if self.vmid is not None:
            item["vmid"] = self.vmid
        if self.content in ("images", "rootdir"):
            item["used"] = self.size // 3
        if self.parent:
            item["parent"] = self.parent
        if self.content == "backup":
            item["notes"] = self.notes or ""
            item["protected"] = 1 if self.protected else 0
            if self.subtype:
                item["subtype"] = self.subtype
        return item


@dataclass
class Guest:
    vmid: int
    kind: str  # qemu | lxc
    node: str
    config: dict[str, str]
    snapshots: dict[str, dict[str, str]] = field(default_factory=dict)
    status: str = "stopped"  # stopped | running | paused (qemu suspend)
    started: int | None = None

    @property
    def template(self) -> bool:
        return self.config.get("template") == "1"

    @property
    def lock(self) -> str | None:
        return self.config.get("lock")

    @property
    def name(self) -> str:
        if self.kind == "qemu":
            return self.config.get("name", f"VM {self.vmid}")
        return self.config.get("hostname", f"CT{self.vmid}")

    def maxmem(self) -> int:
        return int(self.config.get("memory", "2048" if self.kind == "qemu" else "512")) * 1024**2

    def maxcpu(self) -> int:
        cores = int(self.config.get("cores", "1"))
        return cores * int(self.config.get("sockets", "1")) if self.kind == "qemu" else cores

    def uptime(self, now: int) -> int:
        return now - self.started if self.started and self.status != "stopped" else 0


class ClusterState:
    """All simulated PVE state, loaded from and written to the data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.cluster_name = "pvesim"
        self.nodes: dict[str, Node] = {}
        self.storages: dict[str, Storage] = {}
        self.backup_jobs: dict[str, dict[str, Any]] = {}
        # HA resources by sid ("vm:100", "ct:101") -> their ha/resources.cfg options
        self.ha_resources: dict[str, dict[str, Any]] = {}
        self.guests: dict[int, Guest] = {}
        # (storeid, node or None for shared storages) -> volid -> volume
        self.volumes: dict[tuple[str, str | None], dict[str, Volume]] = {}
        # Bytes that files PVE does not list take on a storage (a fault, not persisted): a
        # filesystem shared with other data fills up without any volume growing.
        self.foreign_bytes: dict[str, int] = {}
        self.load()

    # --- persistence ---------------------------------------------------------------------
    @property
    def initialized(self) -> bool:
        return (self.data_dir / "cluster.json").exists()

    def load(self) -> None:
        raw = read_json(self.data_dir / "cluster.json", None)
        if raw is None:
            return
        self.cluster_name = raw["name"]
        self.nodes = {item["name"]: Node(**item) for item in raw["nodes"]}
        self.storages = {item["storeid"]: Storage(**item) for item in raw["storages"]}
        self.backup_jobs = raw.get("backup_jobs", {})
        self.ha_resources = raw.get("ha_resources", {})
        for storage in self.storages.values():
            for node in [None] if storage.shared else list(self.nodes):
                path = self._volumes_path(storage.storeid, node)
                items = read_json(path, [])
                self.volumes[(storage.storeid, node)] = {
                    item["volid"]: Volume(**item) for item in items
                }
        for node in self.nodes:
            for kind, directory in (("qemu", "qemu-server"), ("lxc", "lxc")):
                config_dir = self.data_dir / "nodes" / node / directory
                if not config_dir.is_dir():
                    continue
                for conf in config_dir.glob("*.conf"):
                    vmid = int(conf.stem)
                    current, snapshots = confio.parse(conf.read_text())
                    guest = Guest(vmid, kind, node, current, snapshots)
                    runtime = read_json(self.data_dir / "run" / f"{vmid}.json", None)
                    if runtime:
                        guest.status, guest.started = runtime["status"], runtime["started"]
                    self.guests[vmid] = guest

    def save_cluster(self) -> None:
        write_json(
            self.data_dir / "cluster.json",
            {
                "name": self.cluster_name,
                "nodes": [asdict(node) for node in self.nodes.values()],
                "storages": [asdict(storage) for storage in self.storages.values()],
                "backup_jobs": self.backup_jobs,
                "ha_resources": self.ha_resources,
            },
        )

    def _volumes_path(self, storeid: str, node: str | None) -> Path:
        suffix = f"@{node}" if node else ""
        return self.data_dir / "volumes" / f"{storeid}{suffix}.json"

    def save_volumes(self, storeid: str, node: str | None) -> None:
        key = (storeid, None if self.storages[storeid].shared else node)
        items = [asdict(volume) for volume in self.volumes.get(key, {}).values()]
        write_json(self._volumes_path(*key), items)

    def _config_path(self, guest: Guest) -> Path:
        directory = "qemu-server" if guest.kind == "qemu" else "lxc"
        return self.data_dir / "nodes" / guest.node / directory / f"{guest.vmid}.conf"

    def config_text(self, guest: Guest) -> str:
        return confio.render(guest.config, guest.snapshots)

    def digest(self, guest: Guest) -> str:
        return config_digest(self.config_text(guest))

    def save_guest(self, guest: Guest) -> None:
        atomic_write(self._config_path(guest), self.config_text(guest))
        self.save_runtime(guest)

    def save_runtime(self, guest: Guest) -> None:
        path = self.data_dir / "run" / f"{guest.vmid}.json"
        if guest.status == "stopped":
            remove(path)
        else:
            write_json(path, {"status": guest.status, "started": guest.started})

    def add_guest(self, guest: Guest) -> None:
        self.guests[guest.vmid] = guest
        self.save_guest(guest)

    def move_guest(self, guest: Guest, target: str) -> None:
        remove(self._config_path(guest))
        guest.node = target
        self.save_guest(guest)

    def guest_agent_path(self, vmid: int) -> Path:
        return self.data_dir / "guest-agent" / f"{vmid}.json"

    def remove_guest(self, guest: Guest) -> None:
        remove(self._config_path(guest))
        # What the agent set lived on the guest's disks, gone with them.
        remove(self.guest_agent_path(guest.vmid))
        guest.status = "stopped"
        self.save_runtime(guest)
        self.guests.pop(guest.vmid, None)

    # --- lookups -------------------------------------------------------------------------
    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise die(
                f"hostname lookup '{name}' failed - failed to get address info for: {name}:"
                " Name or service not known"
            ) from None

    def guest(self, node: str, kind: str, vmid: int) -> Guest:
        guest = self.guests.get(vmid)
        if guest is None or guest.node != node or guest.kind != kind:
            raise config_missing(node, kind, vmid)
        return guest

    def storage(self, storeid: str) -> Storage:
        try:
            return self.storages[storeid]
        except KeyError:
            raise die(f"storage '{storeid}' does not exist") from None

    def storage_volumes(self, storeid: str, node: str) -> dict[str, Volume]:
        storage = self.storage(storeid)
        return self.volumes.setdefault((storeid, None if storage.shared else node), {})

    def find_volume(self, volid: str, node: str) -> Volume | None:
        storeid = volid.split(":", 1)[0]
        if storeid not in self.storages:
            return None
        return self.storage_volumes(storeid, node).get(volid)

    def storage_used(self, storeid: str, node: str) -> int:
        volumes = self.storage_volumes(storeid, node).values()
        return self.foreign_bytes.get(storeid, 0) + sum(volume.size for volume in volumes)

    def next_free_vmid(self) -> int:
        for vmid in range(NEXTID_LOWER, NEXTID_UPPER):
            if vmid not in self.guests:
                return vmid
        raise die(f"unable to get any free VMID in range [{NEXTID_LOWER}, {NEXTID_UPPER - 1}]")

    def ha_sid(self, guest: Guest) -> str | None:
        """The HA resource id of a guest if HA manages it."""
        sid = f"{'vm' if guest.kind == 'qemu' else 'ct'}:{guest.vmid}"
        return sid if sid in self.ha_resources else None

    def require_unlocked(self, guest: Guest, *, skiplock: bool = False) -> None:
        if guest.lock and not skiplock:
            raise guest_locked(guest.kind, guest.lock)

    def require_free_vmid(self, vmid: int) -> None:
        if vmid in self.guests:
            kind = self.guests[vmid].kind
            raise PveError(
                500,
                f"unable to create {'VM' if kind == 'qemu' else 'CT'} {vmid}: config file"
                " already exists",
            )

    def now(self) -> int:
        return int(time.time())
