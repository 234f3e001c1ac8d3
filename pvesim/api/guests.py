"""QEMU VMs and LXC containers: lists, config, status and create/restore."""

from __future__ import annotations

import uuid
from typing import Any

from pvecore.guestconfig import parse_size
from pvecore.tags import join_tags, split_tags
from pvecore.text import split_list
from pvecore.volumes import parse_backup_volname
from pvesim import confio, disks
from pvesim.api.guest_common import (
    DURATION,
    KINDS,
    ROOT_ONLY_KEYS,
    assign_macs,
    config_privilege,
    config_text_value,
    label,
    require_skiplock_allowed,
    start_guest_task,
    typed_config,
)
from pvesim.api.guest_params import LXC_CONFIG, LXC_CREATE, QEMU_CONFIG, QEMU_CREATE
from pvesim.context import RequestContext
from pvesim.errors import die, param_error
from pvesim.params import NODE, VMID, Param, opt
from pvesim.resources import guest_disk_size, guest_usage
from pvesim.routes import endpoint
from pvesim.state import Guest, Volume
from pvesim.tasks import TaskContext


# --- lists and config -----------------------------------------------------------------------
def _list_item(ctx: RequestContext, guest: Guest, now: int) -> dict[str, Any]:
    usage = guest_usage(guest, now)
    item: dict[str, Any] = {
        "vmid": guest.vmid,
        "name": guest.name,
        "status": "stopped" if guest.status == "stopped" else "running",
        "maxmem": guest.maxmem(),
        "maxdisk": guest_disk_size(guest),
        "disk": 0,
        **usage,
    }
    item["cpus" if guest.kind == "qemu" else "maxcpu"] = guest.maxcpu()
    if guest.kind == "lxc":
        item["type"] = "lxc"
        item["maxswap"] = int(guest.config.get("swap", "512")) * 1024**2
        item["swap"] = 0
    if guest.status != "stopped":
        item["pid"] = 10000 + guest.vmid % 50000
    if guest.template:
        item["template"] = 1
    if guest.lock:
        item["lock"] = guest.lock
    if tags := guest.config.get("tags"):
        item["tags"] = tags
    return item


def _register_list(kind: str) -> None:
    @endpoint(
        "GET",
        f"/nodes/{{node}}/{kind}",
        params=(opt("full", "boolean"), NODE) if kind == "qemu" else (NODE,),
        permissions={"user": "all"},
        protected=True,
        proxyto="node",
    )
    async def list_guests(ctx: RequestContext, params: dict[str, Any]) -> Any:
        now = ctx.sim.state.now()
        return [
            _list_item(ctx, guest, now)
            for guest in sorted(ctx.sim.state.guests.values(), key=lambda g: g.vmid)
            if guest.node == params["node"]
            and guest.kind == kind
            and ctx.has(f"/vms/{guest.vmid}", ["VM.Audit"])
        ]


def _register_config_get(kind: str) -> None:
    params: tuple[Param, ...] = (opt("current", "boolean", default=0), NODE)
    params += (opt("snapshot", max_length=40, format="pve-configid"), VMID)

    @endpoint(
        "GET",
        f"/nodes/{{node}}/{kind}/{{vmid}}/config",
        params=params,
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]},
        proxyto="node",
    )
    async def get_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(params["node"], kind, params["vmid"])
        if snapname := params.get("snapshot"):
            if snapname not in guest.snapshots:
                raise die(f"snapshot '{snapname}' does not exist")
            section = dict(guest.snapshots[snapname])
        else:
            section = dict(guest.config)
        result = typed_config(kind, section)
        result["digest"] = state.digest(guest)
        return result


def apply_config(
    ctx: RequestContext, guest: Guest, params: dict[str, Any], *, table: tuple[Param, ...]
) -> None:
    """Validate and apply a config update (PUT/POST .../config) to ``guest`` in place."""
    state = ctx.sim.state
    skiplock = require_skiplock_allowed(ctx, params)
    control = {"node", "vmid", "digest", "delete", "revert", "skiplock", "force"}
    updates = {k: config_text_value(v) for k, v in params.items() if k not in control}
    deletions = split_list(params.get("delete", ""))
    declared = {p.name for p in table}
    for key in deletions:
        if key not in declared and key.rstrip("0123456789") + "[n]" not in declared:
            raise param_error({"delete": f"invalid configuration ID '{key}'"})
    for key in [*updates, *deletions]:
        if key in ROOT_ONLY_KEYS and not ctx.is_root:
            raise die("only root can set 'lock' config")
        privilege = config_privilege(guest.kind, key, updates.get(key))
        ctx.require(f"/vms/{guest.vmid}", [privilege])
    if set(updates) & set(deletions):
        both = sorted(set(updates) & set(deletions))[0]
        raise param_error({"delete": f"cannot set and delete '{both}' at the same time"})
    for storeid in disks.new_disk_requests(guest.kind, updates):
        ctx.require(f"/storage/{storeid}", ["Datastore.AllocateSpace"])
    # Checked under the config lock in PVE, after the permission checks above.
    if (digest := params.get("digest")) and digest != state.digest(guest):
        raise die("detected modified configuration - file changed by other user? Try again.")
    state.require_unlocked(guest, skiplock=skiplock)
    if "tags" in updates:
        updates["tags"] = join_tags(split_tags(updates["tags"]))
    for key in deletions:
        value = guest.config.pop(key, None)
        if value is None:
            continue
        if guest.kind == "qemu" and disks.is_disk_key("qemu", key):
            props = disks.disk_properties(value)
            if not disks.is_cdrom(props) and ":" in props.get("volume", ""):
                _move_to_unused(guest, props["volume"])
        elif key.startswith("unused"):
            volid = disks.disk_properties(value)["volume"]
            volumes = state.storage_volumes(volid.split(":", 1)[0], guest.node)
            volumes.pop(volid, None)
            state.save_volumes(volid.split(":", 1)[0], guest.node)
    guest.config.update(updates)
    disks.allocate_new_disks(state, guest, node=guest.node)
    assign_macs(guest, fresh=False)
    state.save_guest(guest)


def _move_to_unused(guest: Guest, volid: str) -> None:
    index = 0
    while f"unused{index}" in guest.config:
        index += 1
    guest.config[f"unused{index}"] = volid


def _register_config_update(kind: str, method: str) -> None:
    table = QEMU_CONFIG if kind == "qemu" else LXC_CONFIG
    privs = (
        [
            "VM.Config.Disk",
            "VM.Config.CDROM",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.HWType",
            "VM.Config.Options",
            "VM.Config.Cloudinit",
        ]
        if kind == "qemu"
        else [
            "VM.Config.Disk",
            "VM.Config.CPU",
            "VM.Config.Memory",
            "VM.Config.Network",
            "VM.Config.Options",
        ]
    )

    @endpoint(
        method,
        f"/nodes/{{node}}/{kind}/{{vmid}}/config",
        params=table,
        permissions={"check": ["perm", "/vms/{vmid}", privs, "any", 1]},
        protected=True,
        proxyto="node",
    )
    async def update_config(ctx: RequestContext, params: dict[str, Any]) -> Any:
        guest = ctx.sim.state.guest(params["node"], kind, params["vmid"])
        apply_config(ctx, guest, params, table=table)
        if method == "PUT":
            return None

        async def work(task: TaskContext) -> None:
            options = " ".join(
                f"-{key} {'<hidden>' if key == 'cipassword' else value}"
                for key, value in params.items()
                if key not in ("node", "vmid", "digest")
            )
            task.log(f"update {label(kind)} {guest.vmid}: {options}")
            await task.sleep(DURATION["config"])

        return start_guest_task(ctx, guest, "config", work)


def _register_pending(kind: str) -> None:
    @endpoint(
        "GET",
        f"/nodes/{{node}}/{kind}/{{vmid}}/pending",
        params=(NODE, VMID),
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]},
        proxyto="node",
    )
    async def pending(ctx: RequestContext, params: dict[str, Any]) -> Any:
        guest = ctx.sim.state.guest(params["node"], kind, params["vmid"])
        # Pending items carry the raw config text (the schema declares `value` a string).
        return [{"key": key, "value": value} for key, value in sorted(guest.config.items())]


def _register_status_current(kind: str) -> None:
    @endpoint(
        "GET",
        f"/nodes/{{node}}/{kind}/{{vmid}}/status/current",
        params=(NODE, VMID),
        permissions={"check": ["perm", "/vms/{vmid}", ["VM.Audit"]]},
        protected=True,
        proxyto="node",
    )
    async def status_current(ctx: RequestContext, params: dict[str, Any]) -> Any:
        state = ctx.sim.state
        guest = state.guest(params["node"], kind, params["vmid"])
        item = _list_item(ctx, guest, state.now())
        item["ha"] = {"managed": 0}
        if kind == "qemu":
            item["qmpstatus"] = {"running": "running", "paused": "paused"}.get(
                guest.status, "stopped"
            )
            item["agent"] = (
                1 if guest.config.get("agent", "0").split(",")[0] in ("1", "enabled=1") else 0
            )
            if guest.status != "stopped":
                item["running-machine"] = "pc-i440fx-9.2+pve1"
                item["running-qemu"] = "9.2.0"
        return item


# --- create / restore -----------------------------------------------------------------------
def _check_create_permissions(ctx: RequestContext, params: dict[str, Any], kind: str) -> None:
    vmid = params["vmid"]
    restoring_existing = (
        (params.get("archive") or params.get("restore"))
        and params.get("force")
        and vmid in ctx.sim.state.guests
    )
    if restoring_existing:
        ctx.require(f"/vms/{vmid}", ["VM.Backup"])
    elif pool := params.get("pool"):
        if pool not in ctx.sim.access.config.pools:
            raise die(f"pool '{pool}' does not exist")
        ctx.require(f"/pool/{pool}", ["VM.Allocate"])
    else:
        ctx.require(f"/vms/{vmid}", ["VM.Allocate"])
    if kind == "lxc" and not params.get("unprivileged") and not params.get("restore"):
        ctx.require("/", ["Sys.Modify"])


def _backup_volume(ctx: RequestContext, node: str, volid: str, kind: str) -> Volume:
    volume = ctx.sim.state.find_volume(volid, node)
    if volume is None or volume.content != "backup":
        raise die(f"volume '{volid}' does not exist")
    info = parse_backup_volname(volid.split(":", 1)[1])
    if info.guest_type != kind:
        raise die(f"unable to restore '{volid}': not a {kind} backup archive")
    storeid = volid.split(":", 1)[0]
    ctx.require(f"/storage/{storeid}", ["Datastore.AllocateSpace"])
    return volume


def _register_create(kind: str) -> None:
    table = QEMU_CREATE if kind == "qemu" else LXC_CREATE

    @endpoint(
        "POST",
        f"/nodes/{{node}}/{kind}",
        params=table,
        permissions={"user": "all"},
        protected=True,
        proxyto="node",
    )
    async def create(ctx: RequestContext, params: dict[str, Any]) -> Any:
        state = ctx.sim.state
        node, vmid = params["node"], params["vmid"]
        _check_create_permissions(ctx, params, kind)
        archive = (
            params.get("archive")
            if kind == "qemu"
            else (params["ostemplate"] if params.get("restore") else None)
        )
        control = {
            "node",
            "vmid",
            "archive",
            "force",
            "pool",
            "start",
            "storage",
            "unique",
            "live-restore",
            "bwlimit",
            "ostemplate",
            "restore",
            "password",
            "ssh-public-keys",
            "ignore-unpack-errors",
        }
        values = {k: config_text_value(v) for k, v in params.items() if k not in control}
        if "tags" in values:
            values["tags"] = join_tags(split_tags(values["tags"]))
        existing = state.guests.get(vmid)
        if existing is not None:
            if not (archive and params.get("force")):
                state.require_free_vmid(vmid)
            if existing.status != "stopped":
                raise die(f"unable to restore {label(kind)} {vmid} - {label(kind)} is running")
            state.require_unlocked(existing)
        storage = params.get("storage")
        if storage:
            state.storage(storage)
        if archive:
            backup = _backup_volume(ctx, node, archive, kind)
            config, _ = confio.parse(backup.guest_config or "")
            for key in ("lock", "parent"):
                config.pop(key, None)
            operation = "restore"
        else:
            if kind == "lxc":
                template = state.find_volume(params["ostemplate"], node)
                if template is None or template.content != "vztmpl":
                    raise die(f"volume '{params['ostemplate']}' does not exist")
                values.setdefault("rootfs", f"{storage or 'local-lvm'}:4")
                values.setdefault("hostname", f"CT{vmid}")
                values.setdefault("ostype", _ostype_from_template(params["ostemplate"]))
                values.setdefault("arch", "amd64")
            config = {}
            operation = "create"
        for storeid in disks.new_disk_requests(kind, values):
            ctx.require(f"/storage/{storeid}", ["Datastore.AllocateSpace"])
        if pool := params.get("pool"):
            ctx.sim.access.add_vm_to_pool(pool, vmid)
        if existing is not None:
            disks.free_guest_volumes(state, existing)
            state.remove_guest(existing)
        guest = Guest(vmid, kind, node, {**values, "lock": "create"})
        if kind == "qemu":
            guest.config.setdefault("smbios1", f"uuid={uuid.uuid4()}")
            guest.config.setdefault("vmgenid", str(uuid.uuid4()))
        state.add_guest(guest)

        async def work(task: TaskContext) -> None:
            try:
                await task.sleep(DURATION[operation])
                if archive:
                    task.log(f"restore vma archive: {archive}")
                    restored = {k: _retarget_disk(kind, k, v, storage) for k, v in config.items()}
                    guest.config = {**restored, **values, "lock": "create"}
                    disks.allocate_new_disks(state, guest, node=node)
                    assign_macs(guest, fresh=bool(params.get("unique")))
                else:
                    disks.allocate_new_disks(state, guest, node=node)
                    assign_macs(guest, fresh=False)
                    if kind == "lxc":
                        task.log(f"extracting archive '{params['ostemplate']}'")
                for key, value in guest.config.items():
                    if disks.is_disk_key(kind, key) and "size=" in value:
                        task.log(f"{key}: successfully created disk '{value}'")
            except Exception:
                if vmid in state.guests and state.guests[vmid] is guest:
                    disks.free_guest_volumes(state, guest)
                    state.remove_guest(guest)
                raise
            guest.config.pop("lock", None)
            state.save_guest(guest)
            if params.get("start"):
                await task.sleep(DURATION["start"])
                guest.status, guest.started = "running", state.now()
                state.save_runtime(guest)

        return start_guest_task(ctx, guest, operation, work)


def _ostype_from_template(volid: str) -> str:
    name = volid.rsplit("/", 1)[-1]
    for ostype in ("debian", "ubuntu", "alpine", "centos", "fedora", "archlinux", "opensuse"):
        if name.startswith(ostype):
            return ostype
    return "unmanaged"


def _retarget_disk(kind: str, key: str, value: str, storage: str | None) -> str:
    """Restore: ask for a new volume of the same size (on ``storage`` or the original one)."""
    if not disks.is_disk_key(kind, key):
        return value
    props = disks.disk_properties(value)
    volume = props.get("volume", "")
    if disks.is_cdrom(props) and "cloudinit" not in volume:
        return value
    target = storage or volume.split(":", 1)[0]
    if "cloudinit" in volume:
        return disks.render_disk({"volume": f"{target}:cloudinit", "media": "cdrom"})
    size = parse_size(props.get("size", "4G"))
    props["volume"] = f"{target}:{max(size // 1024**3, 1)}"
    props.pop("size", None)
    return disks.render_disk(props)


for _kind in KINDS:
    _register_list(_kind)
    _register_config_get(_kind)
    _register_config_update(_kind, "PUT")
    if _kind == "qemu":
        _register_config_update(_kind, "POST")
        _register_pending(_kind)
    _register_status_current(_kind)
    _register_create(_kind)
