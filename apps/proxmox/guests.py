"""Guest (qemu and lxc) actions on PVE. Each returns the UPID of the task PVE started."""

from typing import Literal

from apps.proxmox.client import PveClient

GuestType = Literal["qemu", "lxc"]
PowerAction = Literal["start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"]

# PVE has no reset for containers.
POWER_ACTIONS: dict[str, frozenset[str]] = {
    "qemu": frozenset({"start", "stop", "shutdown", "reboot", "reset", "suspend", "resume"}),
    "lxc": frozenset({"start", "stop", "shutdown", "reboot", "suspend", "resume"}),
}


def guest_power(
    client: PveClient, *, node: str, guest_type: GuestType, vmid: int, action: PowerAction
) -> str:
    if action not in POWER_ACTIONS[guest_type]:
        raise ValueError(f"{guest_type} guests have no '{action}' action")
    return str(client.post(f"nodes/{node}/{guest_type}/{vmid}/status/{action}"))


def guest_current_status(
    client: PveClient, *, node: str, guest_type: GuestType, vmid: int
) -> dict[str, object]:
    return client.get(f"nodes/{node}/{guest_type}/{vmid}/status/current")
