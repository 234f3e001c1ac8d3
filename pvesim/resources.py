"""Resource items as /cluster/resources, /pools/{poolid} and the guest lists report them.

Usage figures are deterministic functions of the VMID and the clock so that graphs and lists
look alive without storing samples.
"""

from __future__ import annotations

import functools
import math
import re
from typing import Any

from pvecore.guestconfig import parse_size
from pvesim.state import GIB, ClusterState, Guest, Node, Storage

# pvecore's parse_size is exact (Fractions) but slow; sizes repeat across thousands of guests.
_cached_size = functools.lru_cache(maxsize=4096)(parse_size)
_SIZE_RE = re.compile(r"(?:^|,)size=(\d+(?:\.\d+)?[KMGT]?)")


def _wave(seed: int, now: int, period: int = 600) -> float:
    """A smooth pseudo-random value in [0, 1) for a seed at a moment."""
    return (math.sin(now / period * 2 * math.pi + seed * 1.7) + 1) / 2 * 0.98


def guest_disk_size(guest: Guest) -> int:
    """``maxdisk``: the size of the boot disk (qemu) or of the root filesystem (lxc)."""
    if guest.kind == "lxc":
        keys: tuple[str, ...] = ("rootfs",)
    else:
        boot = guest.config.get("boot", "")
        order = boot.partition("order=")[2].split(";") if "order=" in boot else []
        keys = (*order, "scsi0", "virtio0", "sata0", "ide0")
    for key in keys:
        value = guest.config.get(key)
        if value and "media=cdrom" not in value:
            match = _SIZE_RE.search(value)
            return _cached_size(match.group(1)) if match else 0
    return 0


def guest_usage(guest: Guest, now: int) -> dict[str, Any]:
    running = guest.status != "stopped"
    load = _wave(guest.vmid, now) if running else 0.0
    maxmem = guest.maxmem()
    return {
        "cpu": round(load * 0.3, 6),
        "mem": int(maxmem * (0.2 + load * 0.5)) if running else 0,
        "netin": (now - (guest.started or now)) * 1200 * int(running),
        "netout": (now - (guest.started or now)) * 800 * int(running),
        "diskread": (now - (guest.started or now)) * 4096 * int(running),
        "diskwrite": (now - (guest.started or now)) * 2048 * int(running),
        "uptime": guest.uptime(now),
    }


def guest_resource(state: ClusterState, guest: Guest, pool: str | None, now: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": f"{guest.kind}/{guest.vmid}",
        "type": guest.kind,
        "vmid": guest.vmid,
        "node": guest.node,
        "name": guest.name,
        "status": "running" if guest.status != "stopped" else "stopped",
        "template": 1 if guest.template else 0,
        "maxcpu": guest.maxcpu(),
        "maxmem": guest.maxmem(),
        "maxdisk": guest_disk_size(guest),
        "disk": 0,
        **guest_usage(guest, now),
    }
    if guest.kind == "qemu":
        item["memhost"] = item["mem"]
    if not state.nodes[guest.node].online:
        # Nobody reports on guests of an unreachable node.
        item["status"] = "unknown"
        for key in ("cpu", "mem", "memhost", "uptime", "netin", "netout", "diskread", "diskwrite"):
            item.pop(key, None)
    if guest.lock:
        item["lock"] = guest.lock
    if tags := guest.config.get("tags"):
        item["tags"] = tags
    if pool:
        item["pool"] = pool
    if state.ha_resources and (sid := state.ha_sid(guest)):
        item["hastate"] = state.ha_resources[sid].get("state", "started")
    return item


def node_usage(state: ClusterState, node: Node, now: int) -> dict[str, Any]:
    running = [g for g in state.guests.values() if g.node == node.name and g.status != "stopped"]
    mem = 2 * GIB + sum(int(g.maxmem() * 0.6) for g in running)
    return {
        "cpu": round(0.02 + _wave(node.nodeid * 97, now) * 0.1 + 0.01 * len(running), 6)
        if node.online
        else 0,
        "maxcpu": node.cpus,
        "mem": min(mem, node.memory) if node.online else 0,
        "maxmem": node.memory,
        "uptime": now - node.booted if node.online else 0,
    }


def node_resource(state: ClusterState, node: Node, now: int) -> dict[str, Any]:
    return {
        "id": f"node/{node.name}",
        "type": "node",
        "node": node.name,
        "status": "online" if node.online else "offline",
        "level": "",
        "disk": 8 * GIB,
        "maxdisk": 100 * GIB,
        "cgroup-mode": 2,
        **node_usage(state, node, now),
    }


def storage_resource(state: ClusterState, storage: Storage, node: Node) -> dict[str, Any]:
    return {
        "id": f"storage/{node.name}/{storage.storeid}",
        "type": "storage",
        "storage": storage.storeid,
        "node": node.name,
        "status": "available" if node.online else "unknown",
        "plugintype": storage.type,
        "content": ",".join(sorted(storage.content)),
        "shared": 1 if storage.shared else 0,
        "disk": state.storage_used(storage.storeid, node.name),
        "maxdisk": storage.total,
    }
