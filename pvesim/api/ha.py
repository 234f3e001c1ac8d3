"""/cluster/ha: HA resources and the manager's status.

The simulated HA manager acts at once: a resource requested ``started`` is started (task
``hastart``), ``stopped`` is stopped (``hastop``), and a migration request runs ``hamigrate``.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from pvesim import disks
from pvesim.api.guest_common import DURATION
from pvesim.context import RequestContext
from pvesim.errors import die, param_error
from pvesim.params import NODE, Param, opt
from pvesim.routes import endpoint
from pvesim.state import Guest
from pvesim.tasks import TaskContext

SID = Param("sid", format="pve-ha-resource-or-vm-id")
AUDIT = {"check": ["perm", "/", ["Sys.Audit"]]}
CONSOLE = {"check": ["perm", "/", ["Sys.Console"]]}
STATES = ("started", "stopped", "enabled", "disabled", "ignored")
_OPTIONS = (
    opt("comment", max_length=4096),
    opt("failback", "boolean", default=1),
    opt("group", format="pve-configid"),
    opt("max_relocate", "integer", minimum=0, default=1),
    opt("max_restart", "integer", minimum=0, default=1),
)
_OPTION_NAMES = ("comment", "failback", "group", "max_relocate", "max_restart", "state")


def _resolve(ctx: RequestContext, raw_sid: str, kind: str | None = None) -> tuple[str, Guest]:
    """Turn ``100``, ``vm:100`` or ``ct:100`` into the canonical sid and its guest."""
    prefix, _, number = raw_sid.rpartition(":")
    guest = ctx.sim.state.guests.get(int(number))
    if guest is None:
        raise die(f"unable to find VM/CT {number}")
    actual = "vm" if guest.kind == "qemu" else "ct"
    if (prefix and prefix != actual) or (kind and kind != actual):
        raise param_error({"sid": f"'{raw_sid}' is not a {prefix or kind} resource"})
    return f"{actual}:{guest.vmid}", guest


def _existing(ctx: RequestContext, raw_sid: str) -> tuple[str, Guest, dict[str, Any]]:
    sid, guest = _resolve(ctx, raw_sid)
    config = ctx.sim.state.ha_resources.get(sid)
    if config is None:
        raise die(f"no such resource '{sid}'")
    return sid, guest, config


def _apply_state(ctx: RequestContext, guest: Guest, state: str) -> None:
    """What the CRM does after a state request: start or stop the guest."""
    wanted = {"started": "running", "enabled": "running", "stopped": "stopped"}.get(state)
    if wanted is None or (wanted == "running") == (guest.status != "stopped"):
        return
    cluster = ctx.sim.state

    async def work(task: TaskContext) -> None:
        await task.sleep(DURATION["start" if wanted == "running" else "stop"])
        guest.status, guest.started = wanted, cluster.now() if wanted == "running" else None
        cluster.save_runtime(guest)

    ctx.sim.tasks.start(
        node=guest.node,
        type_="hastart" if wanted == "running" else "hastop",
        id_=str(guest.vmid),
        user=ctx.task_user,
        worker=work,
    )


def _digest(config: dict[str, Any]) -> str:
    text = json.dumps(config, sort_keys=True).encode()
    return hashlib.sha1(text, usedforsecurity=False).hexdigest()


def _values(params: dict[str, Any]) -> dict[str, Any]:
    return {
        key: int(value) if isinstance(value, bool) else value
        for key, value in params.items()
        if key in _OPTION_NAMES
    }


@endpoint(
    "GET",
    "/cluster/ha/resources",
    params=(opt("type", enum=("ct", "vm")),),
    permissions=AUDIT,
)
async def list_resources(ctx: RequestContext, params: dict[str, Any]) -> Any:
    return [
        {
            "sid": sid,
            "type": sid.split(":")[0],
            "state": "started",
            "digest": _digest(config),
            **config,
        }
        for sid, config in sorted(ctx.sim.state.ha_resources.items())
        if params.get("type") in (None, sid.split(":")[0])
    ]


@endpoint(
    "POST",
    "/cluster/ha/resources",
    params=(
        *_OPTIONS,
        SID,
        opt("state", enum=STATES, default="started"),
        opt("type", enum=("ct", "vm")),
    ),
    permissions=CONSOLE,
    protected=True,
)
async def create_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    sid, guest = _resolve(ctx, params["sid"], params.get("type"))
    state = ctx.sim.state
    if sid in state.ha_resources:
        raise die(f"resource ID '{sid}' already defined")
    state.ha_resources[sid] = _values(params)
    state.save_cluster()
    _apply_state(ctx, guest, params.get("state", "started"))
    return None


@endpoint("GET", "/cluster/ha/resources/{sid}", params=(SID,), permissions=AUDIT)
async def get_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    sid, _, config = _existing(ctx, params["sid"])
    return {
        "sid": sid,
        "type": sid.split(":")[0],
        "state": "started",
        "digest": _digest(config),
        **config,
    }


@endpoint(
    "PUT",
    "/cluster/ha/resources/{sid}",
    params=(
        opt("comment", max_length=4096),
        opt("delete", max_length=4096, format="pve-configid-list"),
        opt("digest", max_length=64),
        *_OPTIONS[1:],
        SID,
        opt("state", enum=STATES, default="started"),
    ),
    permissions=CONSOLE,
    protected=True,
)
async def update_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _, guest, config = _existing(ctx, params["sid"])
    for key in (params.get("delete") or "").replace(";", ",").split(","):
        config.pop(key.strip(), None)
    config.update(_values(params))
    ctx.sim.state.save_cluster()
    if "state" in params:
        _apply_state(ctx, guest, params["state"])
    return None


@endpoint(
    "DELETE",
    "/cluster/ha/resources/{sid}",
    params=(opt("purge", "boolean", default=1), SID),
    permissions=CONSOLE,
    protected=True,
)
async def delete_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    sid, _, _ = _existing(ctx, params["sid"])
    del ctx.sim.state.ha_resources[sid]
    ctx.sim.state.save_cluster()
    return None


@endpoint(
    "POST",
    "/cluster/ha/resources/{sid}/migrate",
    params=(NODE, SID),
    permissions=CONSOLE,
    protected=True,
)
async def migrate_resource(ctx: RequestContext, params: dict[str, Any]) -> Any:
    sid, guest, _ = _existing(ctx, params["sid"])
    state = ctx.sim.state
    target = state.node(params["node"])
    if target.name == guest.node:
        raise die(f"service '{sid}' is already on node '{target.name}'")
    if not target.online:
        raise die(f"target node '{target.name}' is not online")

    async def work(task: TaskContext) -> None:
        await task.sleep(DURATION["migrate"])
        disks.move_local_volumes(state, guest, target.name)
        state.move_guest(guest, target.name)

    ctx.sim.tasks.start(
        node=guest.node, type_="hamigrate", id_=str(guest.vmid), user=ctx.task_user, worker=work
    )
    return {"sid": sid, "requested-node": target.name}


@endpoint("GET", "/cluster/ha/status/current", permissions=AUDIT)
async def ha_status(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state, now = ctx.sim.state, int(time.time())
    nodes = list(state.nodes.values())
    master = next((n for n in nodes if n.online), nodes[0])
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(now))
    items: list[dict[str, Any]] = [
        {"id": "quorum", "type": "quorum", "node": master.name, "status": "OK", "quorate": 1},
        {
            "id": "master",
            "type": "master",
            "node": master.name,
            "status": f"{master.name} (active, {stamp})",
            "timestamp": now,
        },
    ]
    for node in nodes:
        mode = "active" if node.online else "old timestamp - dead?"
        items.append(
            {
                "id": f"lrm:{node.name}",
                "type": "lrm",
                "node": node.name,
                "status": f"{node.name} ({mode}, {stamp})",
                "timestamp": now,
            }
        )
    for sid, config in sorted(state.ha_resources.items()):
        guest = state.guests.get(int(sid.split(":")[1]))
        if guest is None:
            continue
        running = "started" if guest.status != "stopped" else "stopped"
        items.append(
            {
                "id": f"service:{sid}",
                "type": "service",
                "sid": sid,
                "node": guest.node,
                "state": running,
                "crm_state": running,
                "request_state": config.get("state", "started"),
                "status": f"{sid} ({guest.node}, {running})",
                "max_restart": config.get("max_restart", 1),
                "max_relocate": config.get("max_relocate", 1),
                "failback": config.get("failback", 1),
            }
        )
    return items
