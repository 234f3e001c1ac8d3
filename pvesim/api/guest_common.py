"""Shared rules of the qemu and lxc handlers: names, durations, config types, MACs, tasks."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from pvesim import disks
from pvesim.api.guest_params import LXC_CONFIG, QEMU_CONFIG
from pvesim.context import RequestContext
from pvesim.errors import param_error
from pvesim.state import Guest
from pvesim.tasks import TaskContext

KINDS = ("qemu", "lxc")
# Simulated durations (seconds) of each operation before --task-speed scaling.
DURATION = {
    "create": 4.0,
    "restore": 10.0,
    "start": 2.0,
    "stop": 1.0,
    "shutdown": 4.0,
    "reboot": 5.0,
    "reset": 1.0,
    "suspend": 1.0,
    "resume": 1.0,
    "clone_linked": 3.0,
    "clone_full": 15.0,
    "template": 3.0,
    "migrate": 10.0,
    "resize": 1.0,
    "destroy": 2.0,
    "config": 1.0,
}
TASK_TYPES = {
    "qemu": {
        "create": "qmcreate",
        "restore": "qmrestore",
        "start": "qmstart",
        "stop": "qmstop",
        "shutdown": "qmshutdown",
        "reboot": "qmreboot",
        "reset": "qmreset",
        "suspend": "qmsuspend",
        "resume": "qmresume",
        "clone": "qmclone",
        "template": "qmtemplate",
        "migrate": "qmigrate",
        "resize": "resize",
        "destroy": "qmdestroy",
        "config": "qmconfig",
    },
    "lxc": {
        "create": "vzcreate",
        "restore": "vzrestore",
        "start": "vzstart",
        "stop": "vzstop",
        "shutdown": "vzshutdown",
        "reboot": "vzreboot",
        "suspend": "vzsuspend",
        "resume": "vzresume",
        "clone": "vzclone",
        "template": "vztemplate",
        "migrate": "vzmigrate",
        "resize": "resize",
        "destroy": "vzdestroy",
    },
}
# Which privilege a config key needs beyond the endpoint's "any of VM.Config.*" check.
_CPU_KEYS = {"cores", "sockets", "cpu", "vcpus", "cpulimit", "cpuunits", "numa", "affinity"}
_MEMORY_KEYS = {"memory", "balloon", "shares", "swap"}
_CLOUDINIT_KEYS = {
    "ciuser",
    "cipassword",
    "citype",
    "ciupgrade",
    "cicustom",
    "sshkeys",
    "nameserver",
    "searchdomain",
}
_HWTYPE_KEYS = {"bios", "machine", "scsihw", "vga", "tablet", "acpi", "kvm", "ostype", "arch"}
ROOT_ONLY_KEYS = {"lock"}


def label(kind: str) -> str:
    return "VM" if kind == "qemu" else "CT"


def config_privilege(kind: str, key: str, value: str | None = None) -> str:
    base = key.rstrip("0123456789")
    if key in _CPU_KEYS:
        return "VM.Config.CPU"
    if key in _MEMORY_KEYS:
        return "VM.Config.Memory"
    if base in ("net",):
        return "VM.Config.Network"
    if key in _CLOUDINIT_KEYS or base == "ipconfig":
        return "VM.Config.Cloudinit"
    if disks.is_disk_key(kind, key) or base in ("unused", "mp"):
        if value and "media=cdrom" in value:
            return "VM.Config.CDROM"
        return "VM.Config.Disk"
    if key in _HWTYPE_KEYS or base == "serial":
        return "VM.Config.HWType"
    return "VM.Config.Options"


def typed_config(kind: str, config: dict[str, str]) -> dict[str, Any]:
    """Config values with the JSON types PVE sends (integers and booleans as numbers)."""
    table = {p.name: p for p in (QEMU_CONFIG if kind == "qemu" else LXC_CONFIG)}
    result: dict[str, Any] = {}
    for key, value in config.items():
        param = table.get(key) or table.get(key.rstrip("0123456789") + "[n]")
        if param is not None and param.type in ("integer", "boolean"):
            try:
                result[key] = int(value)
                continue
            except ValueError:
                pass
        elif param is not None and param.type == "number":
            result[key] = float(value)
            continue
        result[key] = value
    return result


def config_text_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _new_mac(seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    # BC:24:11 is the Proxmox Server Solutions OUI used for generated MACs.
    return "BC:24:11:" + ":".join(f"{byte:02X}" for byte in digest[:3])


def assign_macs(guest: Guest, *, fresh: bool) -> None:
    for key, value in list(guest.config.items()):
        if not key.startswith("net"):
            continue
        props = disks.parse_property_string(value, default_key="model")
        if guest.kind == "qemu":
            model = props.pop("model", "virtio")
            model, _, mac = model.partition("=")
            mac = props.pop(model, mac)
            if not mac or fresh:
                mac = _new_mac(f"{guest.vmid}-{key}-{secrets.token_hex(4)}")
            guest.config[key] = disks.render_property_string({model: mac, **props})
        else:
            if "hwaddr" not in props or fresh:
                props["hwaddr"] = _new_mac(f"{guest.vmid}-{key}-{secrets.token_hex(4)}")
            guest.config[key] = disks.render_property_string(props)


def start_guest_task(
    ctx: RequestContext,
    guest: Guest,
    operation: str,
    work: Callable[[TaskContext], Awaitable[None]],
    *,
    node: str | None = None,
    vmid: int | None = None,
) -> str:
    return ctx.sim.tasks.start(
        node=node or guest.node,
        type_=TASK_TYPES[guest.kind][operation],
        id_=str(vmid or guest.vmid),
        user=ctx.task_user,
        worker=work,
    )


def require_skiplock_allowed(ctx: RequestContext, params: dict[str, Any]) -> bool:
    if params.get("skiplock") and not ctx.is_root:
        raise param_error({"skiplock": "Only root may use this option."})
    return bool(params.get("skiplock"))
