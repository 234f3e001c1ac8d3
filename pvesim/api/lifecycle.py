"""Resize, migrate and destroy, plus the read-only feature, migration and interface checks."""

from __future__ import annotations

from typing import Any

from pvecore.guestconfig import format_size, parse_size
from pvecore.text import split_list
from pvecore.volumes import storage_supports_snapshots
from pvesim import disks
from pvesim.api.guest_common import (
    DURATION,
    KINDS,
    label,
    require_skiplock_allowed,
    start_guest_task,
)
from pvesim.context import RequestContext
from pvesim.errors import die
from pvesim.params import NODE, VMID, Param, opt
from pvesim.routes import endpoint
from pvesim.state import Guest, Storage
from pvesim.store import remove
from pvesim.tasks import TaskContext


# --- resize, migrate, destroy -----------------------------------------------------------------
def _register_resize(kind: str) -> None:
    if kind == "qemu":
        disk_param = Param(
            "disk",
            enum=tuple(
                [f"ide{i}" for i in range(4)]
                + [f"scsi{i}" for i in range(31)]
                + [f"virtio{i}" for i in range(16)]
                + [f"sata{i}" for i in range(6)]
                + ["efidisk0", "tpmstate0"]
            ),
        )
        params: tuple[Param, ...] = (
            opt("digest", max_length=40),
            disk_param,
            NODE,
            Param("size", pattern=r"\+?\d+(\.\d+)?[KMGT]?"),
            opt("skiplock", "boolean"),
            VMID,
        )
    else:
        disk_param = Param("disk", enum=tuple(["rootfs"] + [f"mp{i}" for i in range(256)]))
        params = (
            opt("digest", max_length=40),
            disk_param,
            NODE,
            Param("size", pattern=r"\+?\d+(\.\d+)?[KMGT]?"),
            VMID,
        )

    resize_permissions: dict[str, Any] = {"check": ["perm", "/vms/{vmid}", ["VM.Config.Disk"]]}
    if kind == "lxc":
        resize_permissions = {"check": ["perm", "/vms/{vmid}", ["VM.Config.Disk"], "any", 1]}

    @endpoint(
        "PUT",
        f"/nodes/{{node}}/{kind}/{{vmid}}/resize",
        params=params,
        permissions=resize_permissions,
        protected=True,
        proxyto="node",
    )
    async def resize(ctx: RequestContext, values: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(values["node"], kind, values["vmid"])
        if (digest := values.get("digest")) and digest != state.digest(guest):
            raise die("detected modified configuration - file changed by other user? Try again.")
        state.require_unlocked(guest, skiplock=require_skiplock_allowed(ctx, values))
        key = values["disk"]
        if key not in guest.config:
            raise die(f"disk '{key}' does not exist")
        props = disks.disk_properties(guest.config[key])
        volume = state.find_volume(props.get("volume", ""), guest.node)
        if volume is None or disks.is_cdrom(props):
            raise die(f"disk '{key}' is not a resizable volume")
        text = values["size"]
        new_size = volume.size + parse_size(text[1:]) if text.startswith("+") else parse_size(text)
        if new_size < volume.size:
            raise die("shrinking disks is not supported")
        ctx.require(f"/storage/{volume.volid.split(':', 1)[0]}", ["Datastore.AllocateSpace"])

        async def work(task: TaskContext) -> None:
            await task.sleep(DURATION["resize"])
            volume.size = new_size
            props["size"] = format_size(new_size)
            guest.config[key] = disks.render_disk(props)
            state.save_volumes(volume.volid.split(":", 1)[0], guest.node)
            state.save_guest(guest)
            task.log(f"Image resized to {format_size(new_size)}.")

        return start_guest_task(ctx, guest, "resize", work)


def _register_migrate(kind: str) -> None:
    if kind == "qemu":
        params: tuple[Param, ...] = (
            opt(
                "bwlimit",
                "integer",
                minimum=0,
                default="migrate limit from datacenter or storage config",
            ),
            opt("force", "boolean"),
            opt("migration_network", format="CIDR"),
            opt("migration_type", enum=("secure", "insecure")),
            NODE,
            opt("online", "boolean"),
            Param("target", format="pve-node"),
            opt("targetstorage", format="storage-pair-list"),
            VMID,
            opt("with-conntrack-state", "boolean", default=0),
            opt("with-local-disks", "boolean"),
        )
    else:
        params = (
            opt(
                "bwlimit",
                "number",
                minimum=0,
                default="migrate limit from datacenter or storage config",
            ),
            NODE,
            opt("online", "boolean"),
            opt("restart", "boolean"),
            Param("target", format="pve-node"),
            opt("target-storage", format="storage-pair-list"),
            opt("timeout", "integer", default=180),
            VMID,
        )

    @endpoint(
        "POST",
        f"/nodes/{{node}}/{kind}/{{vmid}}/migrate",
        params=params,
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Migrate"]]},
        protected=True,
        proxyto="node",
    )
    async def migrate(ctx: RequestContext, values: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(values["node"], kind, values["vmid"])
        target = values["target"]
        if target == guest.node:
            raise die("target is local node.")
        if not state.node(target).online:
            raise die(f"target node '{target}' is not online")
        state.require_unlocked(guest)
        running = guest.status != "stopped"
        if running and kind == "qemu" and not values.get("online"):
            raise die("can't migrate running VM without --online")
        if running and kind == "lxc" and not values.get("restart"):
            raise die("lxc live migration is currently not implemented")
        local = [
            volid
            for _, volid in disks.guest_volumes(kind, guest.config)
            if not state.storage(volid.split(":", 1)[0]).shared
        ]
        if running and local and kind == "qemu" and not values.get("with-local-disks"):
            raise die("can't live migrate attached local disks without with-local-disks option")
        guest.config["lock"] = "migrate"
        state.save_guest(guest)
        source_node = guest.node

        async def work(task: TaskContext) -> None:
            task.log(f"starting migration of {label(kind)} {guest.vmid} to node '{target}'")
            try:
                await task.sleep(DURATION["migrate"] * (1 + len(local)))
            finally:
                guest.config.pop("lock", None)
            disks.move_local_volumes(state, guest, target)
            state.move_guest(guest, target)
            task.log("migration finished successfully")

        return start_guest_task(ctx, guest, "migrate", work, node=source_node)


def _register_destroy(kind: str) -> None:
    params: tuple[Param, ...] = (
        opt("destroy-unreferenced-disks", "boolean", default=0),
        NODE,
        opt("purge", "boolean"),
        opt("skiplock", "boolean"),
        VMID,
    )
    if kind == "lxc":
        params = (
            opt("destroy-unreferenced-disks", "boolean"),
            opt("force", "boolean", default=0),
            NODE,
            opt("purge", "boolean", default=0),
            VMID,
        )

    @endpoint(
        "DELETE",
        f"/nodes/{{node}}/{kind}/{{vmid}}",
        params=params,
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Allocate"]]},
        protected=True,
        proxyto="node",
    )
    async def destroy(ctx: RequestContext, values: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(values["node"], kind, values["vmid"])
        state.require_unlocked(guest, skiplock=require_skiplock_allowed(ctx, values))
        if guest.config.get("protection") == "1":
            raise die(f"can't remove {label(kind)} {guest.vmid} - protection mode enabled")
        if guest.status != "stopped" and not values.get("force"):
            raise die(f"{label(kind)} {guest.vmid} is running - destroy failed")
        if state.ha_sid(guest) and not values.get("purge"):
            raise die(
                f"unable to remove {label(kind)} {guest.vmid} - used in HA resources and purge"
                " parameter not set."
            )
        if clones := disks.linked_clones_of(state, guest):
            raise die(f"base volume '{clones[0]}' is still in use by linked cloned {label(kind)}")

        async def work(task: TaskContext) -> None:
            guest.config["lock"] = "destroyed"
            await task.sleep(DURATION["destroy"])
            guest.status = "stopped"
            for _, volid in disks.guest_volumes(kind, guest.config):
                task.log(f"Removing image: {volid}")
            disks.free_guest_volumes(state, guest)
            state.remove_guest(guest)
            ctx.sim.access.forget_vm(guest.vmid)
            # PVE always drops the guest's firewall file with the guest.
            remove(ctx.sim.settings.data_dir / "firewall" / f"{guest.vmid}.json")
            if values.get("purge"):
                if sid := state.ha_sid(guest):
                    del state.ha_resources[sid]
                for job in state.backup_jobs.values():
                    ids = [v for v in split_list(str(job.get("vmid", ""))) if v != str(guest.vmid)]
                    if "vmid" in job:
                        job["vmid"] = ",".join(ids)
                state.save_cluster()

        return start_guest_task(ctx, guest, "destroy", work)


# --- read-only helpers: feature check, migration preconditions, container interfaces ----------
LINKED_CLONE_STORAGE_TYPES = {"lvmthin", "zfspool", "rbd", "dir", "nfs", "cifs", "btrfs"}


def _disk_storages(ctx: RequestContext, guest: Guest, section: dict[str, str]) -> list[Storage]:
    return [
        ctx.sim.state.storage(volid.split(":", 1)[0])
        for key, volid in disks.guest_volumes(guest.kind, section)
        if not key.startswith("unused") and "cloudinit" not in volid
    ]


@endpoint(
    "GET",
    "/nodes/{node}/qemu/{vmid}/feature",
    params=(
        Param("feature", enum=("snapshot", "clone", "copy")),
        NODE,
        opt("snapname", max_length=40, format="pve-configid"),
        VMID,
    ),
    permissions={"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]},
    protected=True,
    proxyto="node",
)
async def qemu_feature(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state = ctx.sim.state
    guest = state.guest(params["node"], "qemu", params["vmid"])
    section = guest.config
    if snapname := params.get("snapname"):
        if snapname not in guest.snapshots:
            raise die(f"snapshot '{snapname}' does not exist")
        section = guest.snapshots[snapname]
    storages = _disk_storages(ctx, guest, section)
    feature = params["feature"]
    if feature == "snapshot":
        volumes = [
            state.find_volume(v, guest.node) for _, v in disks.guest_volumes("qemu", section)
        ]
        has = all(
            volume is None
            or storage_supports_snapshots(
                state.storage(volume.volid.split(":", 1)[0]).type, volume.format
            )
            for volume in volumes
        )
    elif feature == "clone":
        has = guest.template and all(s.type in LINKED_CLONE_STORAGE_TYPES for s in storages)
    else:
        has = True
    shared = all(storage.shared for storage in storages)
    nodes = [n.name for n in state.nodes.values() if shared or n.name == guest.node]
    return {"hasFeature": 1 if has else 0, "nodes": nodes}


@endpoint(
    "GET",
    "/nodes/{node}/qemu/{vmid}/migrate",
    params=(NODE, opt("target", format="pve-node"), VMID),
    permissions={"check": ["perm", "/vms/{vmid}", ["VM.Migrate"]]},
    protected=True,
    proxyto="node",
)
async def qemu_migrate_preconditions(ctx: RequestContext, params: dict[str, Any]) -> Any:
    state = ctx.sim.state
    guest = state.guest(params["node"], "qemu", params["vmid"])
    local_disks = []
    for key, volid in disks.guest_volumes("qemu", guest.config):
        volume = state.find_volume(volid, guest.node)
        if volume and not state.storage(volid.split(":", 1)[0]).shared:
            local_disks.append(
                {
                    "volid": volid,
                    "size": volume.size,
                    "cdrom": 0,
                    "is_unused": 1 if key.startswith("unused") else 0,
                }
            )
    others = [n for n in state.nodes.values() if n.name != guest.node]
    return {
        "running": 0 if guest.status == "stopped" else 1,
        "allowed_nodes": [n.name for n in others if n.online],
        "not_allowed_nodes": {},
        "local_disks": local_disks,
        "local_resources": [],
        "mapped-resources": [],
        "mapped-resource-info": {},
        "has-dbus-vmstate": 1,
    }


def _container_address(guest: Guest, net: dict[str, str]) -> str:
    ip = net.get("ip", "dhcp")
    if ip not in ("dhcp", "manual", ""):
        return ip
    return f"10.{100 + guest.vmid // 65536 % 100}.{guest.vmid // 256 % 256}.{guest.vmid % 256}/16"


@endpoint(
    "GET",
    "/nodes/{node}/lxc/{vmid}/interfaces",
    params=(NODE, VMID),
    permissions={"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]},
    protected=True,
    proxyto="node",
)
async def lxc_interfaces(ctx: RequestContext, params: dict[str, Any]) -> Any:
    guest = ctx.sim.state.guest(params["node"], "lxc", params["vmid"])
    if guest.status == "stopped":
        raise die(f"CT {guest.vmid} not running")
    loopback = {
        "name": "lo",
        "hwaddr": "00:00:00:00:00:00",
        "hardware-address": "00:00:00:00:00:00",
        "inet": "127.0.0.1/8",
        "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "inet", "prefix": 8}],
    }
    interfaces = [loopback]
    for key in sorted(k for k in guest.config if k.startswith("net")):
        net = disks.parse_property_string(guest.config[key])
        address = _container_address(guest, net)
        ip, _, prefix = address.partition("/")
        interfaces.append(
            {
                "name": net.get("name", f"eth{key[3:]}"),
                "hwaddr": net.get("hwaddr", ""),
                "hardware-address": net.get("hwaddr", ""),
                "inet": address,
                "ip-addresses": [
                    {"ip-address": ip, "ip-address-type": "inet", "prefix": int(prefix or 32)}
                ],
            }
        )
    return interfaces


for _kind in KINDS:
    _register_resize(_kind)
    _register_migrate(_kind)
    _register_destroy(_kind)
