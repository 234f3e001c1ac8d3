"""Clones (linked and full) and conversion to templates."""

from __future__ import annotations

import uuid
from typing import Any

from pvesim import disks
from pvesim.api.guest_common import (
    DURATION,
    KINDS,
    assign_macs,
    label,
    start_guest_task,
)
from pvesim.context import RequestContext
from pvesim.errors import die, param_error
from pvesim.params import NODE, VMID, Param, opt
from pvesim.routes import endpoint
from pvesim.state import Guest
from pvesim.tasks import TaskContext


def _register_clone(kind: str) -> None:
    if kind == "qemu":
        params: tuple[Param, ...] = (
            opt(
                "bwlimit",
                "integer",
                minimum=0,
                default="clone limit from datacenter or storage config",
            ),
            opt("description"),
            opt("format", enum=("raw", "qcow2", "vmdk")),
            opt("full", "boolean"),
            opt("name", format="dns-name"),
            Param("newid", "integer", minimum=100, maximum=999999999, format="pve-vmid"),
            NODE,
            opt("pool", format="pve-poolid"),
            opt("snapname", max_length=40, format="pve-configid"),
            opt("storage", format="pve-storage-id"),
            opt("target", format="pve-node"),
            VMID,
        )
    else:
        params = (
            opt(
                "bwlimit",
                "number",
                minimum=0,
                default="clone limit from datacenter or storage config",
            ),
            opt("description"),
            opt("full", "boolean"),
            opt("hostname", format="dns-name"),
            Param("newid", "integer", minimum=100, maximum=999999999, format="pve-vmid"),
            NODE,
            opt("pool", format="pve-poolid"),
            opt("snapname", max_length=40, format="pve-configid"),
            opt("storage", format="pve-storage-id"),
            opt("target", format="pve-node"),
            VMID,
        )

    @endpoint(
        "POST",
        f"/nodes/{{node}}/{kind}/{{vmid}}/clone",
        params=params,
        permissions={
            "check": [
                "and",
                ["perm", "/vms/{vmid}", ["VM.Clone"]],
                [
                    "or",
                    ["perm", "/vms/{newid}", ["VM.Allocate"]],
                    ["perm", "/pool/{pool}", ["VM.Allocate"], "require_param", "pool"],
                ],
            ]
        },
        protected=True,
        proxyto="node",
    )
    async def clone(ctx: RequestContext, values: dict[str, Any]) -> Any:
        return await _clone(ctx, values, kind)


async def _clone(ctx: RequestContext, params: dict[str, Any], kind: str) -> str:
    state = ctx.sim.state
    source = state.guest(params["node"], kind, params["vmid"])
    newid = params["newid"]
    state.require_free_vmid(newid)
    target = params.get("target") or source.node
    if not state.node(target).online:
        raise die(f"target node '{target}' is not online")
    if source.lock and source.lock != "backup":
        raise die(f"{label(kind)} is locked ({source.lock})")
    full = params.get("full", not source.template)
    if not full and not source.template:
        raise die(f"parameter 'full' must be set to 1 to clone a non-template {label(kind)}")
    if "storage" in params and not full:
        raise param_error({"storage": "only allowed for full clones"})
    if params.get("snapname") and params["snapname"] not in source.snapshots:
        raise die(f"snapshot '{params['snapname']}' does not exist")
    section = source.snapshots.get(params.get("snapname") or "", source.config)
    volumes = disks.guest_volumes(kind, section)
    for _, volid in volumes:
        storeid = volid.split(":", 1)[0]
        storage = state.storage(params.get("storage") or storeid)
        if target != source.node and not storage.shared:
            raise die(f"clone to another node needs shared storage - '{storage.storeid}' is local")
        ctx.require(f"/storage/{storage.storeid}", ["Datastore.AllocateSpace"])
    if (pool := params.get("pool")) and pool not in ctx.sim.access.config.pools:
        raise die(f"pool '{pool}' does not exist")
    new_config = {
        k: v
        for k, v in section.items()
        if k not in ("template", "lock", "parent", "snaptime", "vmstate")
        and not k.startswith("unused")
    }
    name_key = "name" if kind == "qemu" else "hostname"
    new_config[name_key] = params.get(name_key) or f"Copy-of-{source.name}".replace(" ", "-")
    if "description" in params:
        new_config["description"] = params["description"]
    if kind == "qemu":
        new_config["smbios1"] = f"uuid={uuid.uuid4()}"
        new_config["vmgenid"] = str(uuid.uuid4())
    guest = Guest(newid, kind, target, {**new_config, "lock": "clone"})
    state.add_guest(guest)
    if pool:
        ctx.sim.access.add_vm_to_pool(pool, newid)

    async def work(task: TaskContext) -> None:
        try:
            task.log(f"create {'full' if full else 'linked'} clone of drives")
            await task.sleep(DURATION["clone_full" if full else "clone_linked"])
            for key, volid in volumes:
                if key.startswith("unused"):
                    continue
                props = disks.disk_properties(section[key])
                if "cloudinit" in volid:
                    storeid = params.get("storage") or volid.split(":", 1)[0]
                    guest.config[key] = disks.render_disk(
                        {"volume": f"{storeid}:cloudinit", "media": "cdrom"}
                    )
                    continue
                new_volume = disks.clone_volume(
                    state,
                    volid,
                    source_node=source.node,
                    target_node=target,
                    newid=newid,
                    kind=kind,
                    linked=not full,
                    target_storage=params.get("storage"),
                )
                props["volume"] = new_volume.volid
                guest.config[key] = disks.render_disk(props)
                task.log(f"{key}: {volid} -> {new_volume.volid}")
            disks.allocate_new_disks(state, guest, node=target)
            assign_macs(guest, fresh=True)
        except Exception:
            disks.free_guest_volumes(state, guest)
            state.remove_guest(guest)
            ctx.sim.access.forget_vm(newid)
            raise
        guest.config.pop("lock", None)
        state.save_guest(guest)

    return start_guest_task(ctx, source, "clone", work)


async def _log_conversion(task: TaskContext) -> None:
    task.log("converting disks to base volumes")


def _register_template(kind: str) -> None:
    params: tuple[Param, ...] = (NODE, VMID)
    if kind == "qemu":
        disk_names = (
            [f"ide{i}" for i in range(4)]
            + [f"scsi{i}" for i in range(31)]
            + [f"virtio{i}" for i in range(16)]
            + [f"sata{i}" for i in range(6)]
            + ["efidisk0", "tpmstate0"]
        )
        params = (opt("disk", enum=tuple(disk_names)), NODE, VMID)

    @endpoint(
        "POST",
        f"/nodes/{{node}}/{kind}/{{vmid}}/template",
        params=params,
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Allocate"]]},
        protected=True,
        proxyto="node",
    )
    async def template(ctx: RequestContext, values: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(values["node"], kind, values["vmid"])
        state.require_unlocked(guest)
        if guest.template:
            raise die("you can't convert a template to a template")
        if guest.status != "stopped":
            raise die(f"you can't convert a {label(kind)} to template if {label(kind)} is running")

        async def work(task: TaskContext) -> None:
            await task.sleep(DURATION["template"])
            disks.convert_to_base(state, guest)
            guest.config["template"] = "1"
            state.save_guest(guest)

        if kind == "lxc":
            # pve-container forks a `vztemplate` worker but answers null, so a client cannot
            # wait for it; the simulator converts at once and records the task.
            disks.convert_to_base(state, guest)
            guest.config["template"] = "1"
            state.save_guest(guest)
            start_guest_task(ctx, guest, "template", _log_conversion)
            return None
        return start_guest_task(ctx, guest, "template", work)


for _kind in KINDS:
    _register_clone(_kind)
    _register_template(_kind)
