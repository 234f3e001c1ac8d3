"""/nodes, node status and RRD statistics (nodes and guests) with deterministic series."""

from __future__ import annotations

import math
import time
from typing import Any

import pvesim
from pvesim.context import RequestContext
from pvesim.params import NODE, VMID, Param, opt
from pvesim.resources import guest_disk_size, node_usage
from pvesim.routes import endpoint
from pvesim.state import GIB

# timeframe -> (seconds between points, number of points), as rrdcached serves them.
TIMEFRAMES = {
    "hour": (60, 70),
    "day": (1800, 70),
    "week": (10800, 70),
    "month": (43200, 70),
    "year": (604800, 70),
    "decade": (2592000, 120),
}


@endpoint("GET", "/nodes", permissions={"user": "all"})
async def list_nodes(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state, now = ctx.sim.state, int(time.time())
    items = []
    for node in state.nodes.values():
        item: dict[str, Any] = {
            "node": node.name,
            "id": f"node/{node.name}",
            "type": "node",
            "status": "online" if node.online else "offline",
        }
        if ctx.has(f"/nodes/{node.name}", ["Sys.Audit"]):
            item.update(node_usage(state, node, now))
            item["level"] = ""
            item["ssl_fingerprint"] = ctx.sim.fingerprint
            item["disk"], item["maxdisk"] = 8 * GIB, 100 * GIB
        items.append(item)
    return items


@endpoint(
    "GET",
    "/nodes/{node}/status",
    params=(NODE,),
    permissions={"check": ["perm", "/nodes/{node}", ["Sys.Audit"]]},
    proxyto="node",
)
async def node_status(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state, now = ctx.sim.state, int(time.time())
    node = state.node(params["node"])
    usage = node_usage(state, node, now)
    load = usage["cpu"] * node.cpus
    kernel = "6.14.11-4-pve"
    return {
        "cpu": usage["cpu"],
        "wait": 0.001,
        "idle": 0,
        "uptime": usage["uptime"],
        "loadavg": [f"{load:.2f}", f"{load * 0.9:.2f}", f"{load * 0.8:.2f}"],
        "cpuinfo": {
            "model": "QEMU Virtual CPU (pvesim)",
            "cores": node.cpus // 2,
            "cpus": node.cpus,
            "sockets": 2,
            "mhz": "2600.000",
            "hvm": "1",
            "flags": "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr",
            "user_hz": 100,
        },
        "memory": {
            "total": node.memory,
            "used": usage["mem"],
            "free": node.memory - usage["mem"],
            "available": node.memory - usage["mem"],
        },
        "swap": {"total": 8 * GIB, "used": 0, "free": 8 * GIB},
        "rootfs": {"total": 100 * GIB, "used": 8 * GIB, "free": 92 * GIB, "avail": 87 * GIB},
        "ksm": {"shared": 0},
        "kversion": f"Linux {kernel} #1 SMP PREEMPT_DYNAMIC PMX {kernel} x86_64",
        "current-kernel": {
            "sysname": "Linux",
            "release": kernel,
            "version": f"#1 SMP PREEMPT_DYNAMIC PMX {kernel}",
            "machine": "x86_64",
        },
        "boot-info": {"mode": "efi", "secureboot": 0},
        "pveversion": f"pve-manager/{pvesim.PVE_VERSION}/{pvesim.PVE_REPOID}",
    }


def _series(seed: int, timeframe: str, cf: str) -> list[tuple[int, float]]:
    """(time, load in [0, 1)) samples; MAX consolidation reads a little higher."""
    step, count = TIMEFRAMES[timeframe]
    last = int(time.time()) // step * step
    boost = 1.15 if cf == "MAX" else 1.0
    samples = []
    for index in range(count):
        moment = last - (count - 1 - index) * step
        value = (math.sin(moment / 5400 + seed) + 1) / 2 * 0.6 + (
            math.sin(moment / 700 + seed * 3) + 1
        ) / 2 * 0.3
        samples.append((moment, min(value * boost, 0.99)))
    return samples


@endpoint(
    "GET",
    "/nodes/{node}/rrddata",
    params=(
        opt("cf", enum=("AVERAGE", "MAX")),
        NODE,
        Param("timeframe", enum=("hour", "day", "week", "month", "year", "decade")),
    ),
    permissions={"check": ["perm", "/nodes/{node}", ["Sys.Audit"]]},
    protected=True,
)
async def node_rrddata(ctx: RequestContext, params: dict[str, Any]) -> Any:
    node = ctx.sim.state.node(params["node"])
    points = []
    for moment, load in _series(
        node.nodeid * 101, params["timeframe"], params.get("cf", "AVERAGE")
    ):
        points.append(
            {
                "time": moment,
                "cpu": round(load * 0.4, 6),
                "maxcpu": node.cpus,
                "iowait": round(load * 0.01, 6),
                "loadavg": round(load * node.cpus * 0.4, 2),
                "memtotal": node.memory,
                "memused": int(node.memory * (0.1 + load * 0.4)),
                "swaptotal": 8 * GIB,
                "swapused": 0,
                "roottotal": 100 * GIB,
                "rootused": 8 * GIB,
                "netin": round(load * 2_000_000, 2),
                "netout": round(load * 1_500_000, 2),
            }
        )
    return points


async def _guest_rrddata(ctx: RequestContext, params: dict[str, Any], kind: str) -> Any:
    state = ctx.sim.state
    guest = state.guest(params["node"], kind, params["vmid"])
    maxdisk = guest_disk_size(guest)
    points = []
    for moment, load in _series(guest.vmid, params["timeframe"], params.get("cf", "AVERAGE")):
        alive = guest.started is not None and moment >= guest.started and guest.status != "stopped"
        point: dict[str, Any] = {
            "time": moment,
            "maxcpu": guest.maxcpu(),
            "maxmem": guest.maxmem(),
            "maxdisk": maxdisk,
            "disk": 0 if kind == "qemu" else int(maxdisk * 0.3),
        }
        if alive:
            point.update(
                {
                    "cpu": round(load * 0.5, 6),
                    "mem": int(guest.maxmem() * (0.2 + load * 0.6)),
                    "netin": round(load * 100_000, 2),
                    "netout": round(load * 40_000, 2),
                    "diskread": round(load * 300_000, 2),
                    "diskwrite": round(load * 150_000, 2),
                }
            )
        points.append(point)
    return points


_GUEST_RRD_PARAMS = (
    opt("cf", enum=("AVERAGE", "MAX")),
    NODE,
    Param("timeframe", enum=("hour", "day", "week", "month", "year")),
    VMID,
)


@endpoint(
    "GET",
    "/nodes/{node}/qemu/{vmid}/rrddata",
    params=_GUEST_RRD_PARAMS,
    permissions={"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]},
    protected=True,
)
async def qemu_rrddata(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return await _guest_rrddata(ctx, params, "qemu")


@endpoint(
    "GET",
    "/nodes/{node}/lxc/{vmid}/rrddata",
    params=_GUEST_RRD_PARAMS,
    permissions={"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]},
    protected=True,
)
async def lxc_rrddata(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return await _guest_rrddata(ctx, params, "lxc")
