"""Guest snapshots: list, create, read/update the snapshot config, rollback and delete."""

from __future__ import annotations

from typing import Any

from pvecore.volumes import storage_supports_snapshots
from pvesim import disks
from pvesim.api.guest_common import label, typed_config
from pvesim.context import RequestContext
from pvesim.errors import die
from pvesim.params import NODE, SNAPNAME, VMID, opt
from pvesim.routes import endpoint
from pvesim.state import ClusterState, Guest
from pvesim.tasks import TaskContext

SNAPSHOT_META_KEYS = ("snaptime", "description", "parent", "vmstate", "snapstate")
TASK_TYPES = {
    "qemu": {"create": "qmsnapshot", "rollback": "qmrollback", "delete": "qmdelsnapshot"},
    "lxc": {"create": "vzsnapshot", "rollback": "vzrollback", "delete": "vzdelsnapshot"},
}
DURATION = {"create": 3.0, "rollback": 4.0, "delete": 2.0}


def _snapshot(guest: Guest, name: str) -> dict[str, str]:
    if name not in guest.snapshots:
        raise die(f"snapshot '{name}' does not exist")
    return guest.snapshots[name]


def _require_snapshot_capable(state: ClusterState, guest: Guest) -> None:
    for key, volid in disks.guest_volumes(guest.kind, guest.config):
        if key.startswith("unused"):
            continue
        volume = state.find_volume(volid, guest.node)
        storage = state.storage(volid.split(":", 1)[0])
        if volume and not storage_supports_snapshots(storage.type, volume.format):
            raise die("snapshot feature is not available")


def _start(ctx: RequestContext, guest: Guest, operation: str, work: Any) -> str:
    return ctx.sim.tasks.start(
        node=guest.node,
        type_=TASK_TYPES[guest.kind][operation],
        id_=str(guest.vmid),
        user=ctx.task_user,
        worker=work,
    )


def _register(kind: str) -> None:
    base = f"/nodes/{{node}}/{kind}/{{vmid}}/snapshot"

    @endpoint(
        "GET",
        base,
        params=(NODE, VMID),
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]},
        protected=True,
        proxyto="node",
    )
    async def list_snapshots(ctx: RequestContext, params: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(params["node"], kind, params["vmid"])
        items: list[dict[str, Any]] = []
        for name, section in guest.snapshots.items():
            item: dict[str, Any] = {"name": name, "description": section.get("description", "")}
            if "snaptime" in section:
                item["snaptime"] = int(section["snaptime"])
            if "parent" in section:
                item["parent"] = section["parent"]
            if kind == "qemu":
                item["vmstate"] = 1 if section.get("vmstate") else 0
            items.append(item)
        current: dict[str, Any] = {
            "name": "current",
            "description": "You are here!",
            "digest": state.digest(guest),
            "running": 0 if guest.status == "stopped" else 1,
        }
        if "parent" in guest.config:
            current["parent"] = guest.config["parent"]
        items.append(current)
        return items

    create_params = (opt("description"), NODE, SNAPNAME, VMID)
    if kind == "qemu":
        create_params = (*create_params, opt("vmstate", "boolean"))

    @endpoint(
        "POST",
        base,
        params=create_params,
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Snapshot"]]},
        protected=True,
        proxyto="node",
    )
    async def create_snapshot(ctx: RequestContext, params: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(params["node"], kind, params["vmid"])
        name = params["snapname"]
        if name == "current":
            raise die("invalid snapshot name 'current'")
        if name in guest.snapshots:
            raise die(f"snapshot name '{name}' already used")
        state.require_unlocked(guest)
        if guest.template:
            raise die("you can't snapshot a template")
        _require_snapshot_capable(state, guest)
        guest.config["lock"] = "snapshot"
        state.save_guest(guest)

        async def work(task: TaskContext) -> None:
            try:
                await task.sleep(DURATION["create"])
            finally:
                guest.config.pop("lock", None)
            section = {k: v for k, v in guest.config.items() if k != "parent"}
            if "parent" in guest.config:
                section["parent"] = guest.config["parent"]
            section["snaptime"] = str(state.now())
            if description := params.get("description"):
                section["description"] = description
            if params.get("vmstate") and guest.status != "stopped":
                section["vmstate"] = "1"
            guest.snapshots[name] = section
            guest.config["parent"] = name
            state.save_guest(guest)
            for key, volid in disks.guest_volumes(kind, guest.config):
                if not key.startswith("unused"):
                    task.log(f"snapshotting '{key}' ({volid})")

        return _start(ctx, guest, "create", work)

    @endpoint(
        "GET",
        f"{base}/{{snapname}}/config",
        params=(NODE, SNAPNAME, VMID),
        permissions={
            "check": [
                "perm",
                "/vms/{vmid}",
                ["VM.Snapshot", "VM.Snapshot.Rollback", "VM.Audit"],
                "any",
                1,
            ]
        },
        proxyto="node",
    )
    async def get_snapshot_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
        guest = ctx.sim.state.guest(params["node"], kind, params["vmid"])
        return typed_config(kind, _snapshot(guest, params["snapname"]))

    @endpoint(
        "PUT",
        f"{base}/{{snapname}}/config",
        params=(opt("description"), NODE, SNAPNAME, VMID),
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Snapshot"]]},
        protected=True,
        proxyto="node",
    )
    async def update_snapshot_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(params["node"], kind, params["vmid"])
        section = _snapshot(guest, params["snapname"])
        if "description" in params:
            section["description"] = params["description"]
            state.save_guest(guest)
        return None

    @endpoint(
        "POST",
        f"{base}/{{snapname}}/rollback",
        params=(NODE, SNAPNAME, opt("start", "boolean", default=0), VMID),
        permissions={
            "check": [
                "perm",
                "/vms/{vmid}",
                ["VM.Snapshot", "VM.Snapshot.Rollback"],
                "any",
                1,
            ]
        },
        protected=True,
        proxyto="node",
    )
    async def rollback(ctx: RequestContext, params: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(params["node"], kind, params["vmid"])
        name = params["snapname"]
        section = _snapshot(guest, name)
        state.require_unlocked(guest)
        guest.config["lock"] = "rollback"
        state.save_guest(guest)

        async def work(task: TaskContext) -> None:
            try:
                if guest.status != "stopped" and not section.get("vmstate"):
                    task.log(f"stopping {label(kind)} {guest.vmid}")
                    guest.status, guest.started = "stopped", None
                await task.sleep(DURATION["rollback"])
            except BaseException:
                guest.config.pop("lock", None)
                state.save_guest(guest)
                raise
            restored = {k: v for k, v in section.items() if k not in SNAPSHOT_META_KEYS}
            restored["parent"] = name
            guest.config = restored
            if section.get("vmstate") or params.get("start"):
                guest.status, guest.started = "running", state.now()
            state.save_guest(guest)

        return _start(ctx, guest, "rollback", work)

    @endpoint(
        "DELETE",
        f"{base}/{{snapname}}",
        params=(opt("force", "boolean"), NODE, SNAPNAME, VMID),
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Snapshot"]]},
        protected=True,
        proxyto="node",
    )
    async def delete_snapshot(ctx: RequestContext, params: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(params["node"], kind, params["vmid"])
        name = params["snapname"]
        section = _snapshot(guest, name)
        if not params.get("force"):
            state.require_unlocked(guest)
        guest.config["lock"] = "snapshot-delete"
        state.save_guest(guest)

        async def work(task: TaskContext) -> None:
            try:
                await task.sleep(DURATION["delete"])
            finally:
                guest.config.pop("lock", None)
            parent = section.get("parent")
            for other in [guest.config, *guest.snapshots.values()]:
                if other.get("parent") == name:
                    if parent:
                        other["parent"] = parent
                    else:
                        other.pop("parent", None)
            del guest.snapshots[name]
            state.save_guest(guest)

        return _start(ctx, guest, "delete", work)


for _kind in ("qemu", "lxc"):
    _register(_kind)
