"""Power actions of qemu and lxc guests (start, stop, shutdown, reboot, reset, suspend, resume)."""

from __future__ import annotations

from typing import Any

from pvesim.api.guest_common import (
    DURATION,
    KINDS,
    label,
    require_skiplock_allowed,
    start_guest_task,
)
from pvesim.context import RequestContext
from pvesim.errors import PveError, die
from pvesim.params import NODE, VMID, Param, opt
from pvesim.routes import endpoint
from pvesim.tasks import TaskContext


def _not_running(kind: str, vmid: int) -> PveError:
    return die(f"{label(kind)} {vmid} not running")


async def _power_transition(
    ctx: RequestContext, params: dict[str, Any], kind: str, action: str
) -> str:
    state = ctx.sim.state
    guest = state.guest(params["node"], kind, params["vmid"])
    skiplock = require_skiplock_allowed(ctx, params)
    state.require_unlocked(guest, skiplock=skiplock)
    running = guest.status != "stopped"
    if action == "start":
        if guest.template:
            raise die(f"you can't start a {label(kind)} if it's a template")
        if running:
            raise die(f"{label(kind)} {guest.vmid} already running")
    elif action == "stop":
        if kind == "lxc" and not running:
            raise _not_running(kind, guest.vmid)
    elif action == "resume":
        if guest.status != "paused":
            raise (
                _not_running(kind, guest.vmid)
                if not running
                else die(f"{label(kind)} {guest.vmid} is not suspended")
            )
    elif not running:
        raise _not_running(kind, guest.vmid)

    async def work(task: TaskContext) -> None:
        await task.sleep(DURATION[action])
        now = state.now()
        if action in ("start",):
            guest.status, guest.started = "running", now
        elif action in ("stop", "shutdown"):
            guest.status, guest.started = "stopped", None
        elif action in ("reboot", "reset"):
            guest.status, guest.started = "running", now
        elif action == "suspend":
            guest.status = "paused"
        elif action == "resume":
            guest.status = "running"
        state.save_runtime(guest)

    if (sid := state.ha_sid(guest)) and action in ("start", "stop", "shutdown"):
        # HA-managed guests change their requested HA state instead (hastart/hastop tasks).
        state.ha_resources[sid]["state"] = "started" if action == "start" else "stopped"
        state.save_cluster()
        return ctx.sim.tasks.start(
            node=guest.node,
            type_="hastart" if action == "start" else "hastop",
            id_=str(guest.vmid),
            user=ctx.task_user,
            worker=work,
        )
    return start_guest_task(ctx, guest, action, work)


_POWER_PARAMS: dict[str, dict[str, tuple[Param, ...]]] = {
    "qemu": {
        "start": (
            opt("force-cpu"),
            opt("machine"),
            opt("migratedfrom", format="pve-node"),
            opt("migration_network", format="CIDR"),
            opt("migration_type", enum=("secure", "insecure")),
            opt("nets-host-mtu", pattern=r"net\d+=\d+(,net\d+=\d+)*"),
            NODE,
            opt("skiplock", "boolean"),
            opt("stateuri", max_length=128),
            opt("targetstorage", format="storage-pair-list"),
            opt("timeout", "integer", minimum=0, default="max(30, vm memory in GiB)"),
            VMID,
            opt("with-conntrack-state", "boolean", default=0),
        ),
        "stop": (
            opt("keepActive", "boolean", default=0),
            opt("migratedfrom", format="pve-node"),
            NODE,
            opt("overrule-shutdown", "boolean", default=0),
            opt("skiplock", "boolean"),
            opt("timeout", "integer", minimum=0),
            VMID,
        ),
        "shutdown": (
            opt("forceStop", "boolean", default=0),
            opt("keepActive", "boolean", default=0),
            NODE,
            opt("skiplock", "boolean"),
            opt("timeout", "integer", minimum=0),
            VMID,
        ),
        "reboot": (NODE, opt("timeout", "integer", minimum=0), VMID),
        "reset": (NODE, opt("skiplock", "boolean"), VMID),
        "suspend": (
            NODE,
            opt("skiplock", "boolean"),
            opt("statestorage", format="pve-storage-id"),
            opt("todisk", "boolean", default=0),
            VMID,
        ),
        "resume": (opt("nocheck", "boolean"), NODE, opt("skiplock", "boolean"), VMID),
    },
    "lxc": {
        "start": (opt("debug", "boolean", default=0), NODE, opt("skiplock", "boolean"), VMID),
        "stop": (
            NODE,
            opt("overrule-shutdown", "boolean", default=0),
            opt("skiplock", "boolean"),
            VMID,
        ),
        "shutdown": (
            opt("forceStop", "boolean", default=0),
            NODE,
            opt("timeout", "integer", minimum=0, default=60),
            VMID,
        ),
        "reboot": (NODE, opt("timeout", "integer", minimum=0), VMID),
        "suspend": (NODE, VMID),
        "resume": (NODE, VMID),
    },
}


def _register_power(kind: str, action: str, params: tuple[Param, ...]) -> None:
    @endpoint(
        "POST",
        f"/nodes/{{node}}/{kind}/{{vmid}}/status/{action}",
        params=params,
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.PowerMgmt"]]},
        protected=True,
        proxyto="node",
    )
    async def power(ctx: RequestContext, values: dict[str, Any]) -> Any:
        if values.get("todisk"):
            raise die("pvesim does not simulate hibernation (todisk=1)")
        return await _power_transition(ctx, values, kind, action)


for _kind in KINDS:
    for _action, _params in _POWER_PARAMS[_kind].items():
        _register_power(_kind, _action, _params)
