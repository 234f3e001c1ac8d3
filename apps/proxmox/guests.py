"""Guest (qemu and lxc) actions on PVE. Each returns the UPID of the task PVE started."""

import contextlib
from typing import Literal

from apps.proxmox.client import PveClient
from apps.proxmox.errors import ProxmoxExists
from apps.proxmox.inventory import GuestInfo, guests_list

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


def guest_locate(client: PveClient, *, vmid: int) -> GuestInfo | None:
    """Where PVE has the guest with this VMID (any node, any type), or None: what an operation
    looks up when a change's answer was lost."""
    return next((guest for guest in guests_list(client) if guest.vmid == vmid), None)


def guest_current_status(
    client: PveClient, *, node: str, guest_type: GuestType, vmid: int
) -> dict[str, object]:
    return client.get(f"nodes/{node}/{guest_type}/{vmid}/status/current")


def pool_ensure(client: PveClient, *, pool: str, comment: str = "") -> None:
    """Create the pool unless it exists (a tenant's pool, same name on every cluster)."""
    with contextlib.suppress(ProxmoxExists):
        client.post("pools", poolid=pool, comment=comment)


def guest_clone(
    client: PveClient,
    *,
    node: str,
    guest_type: GuestType,
    template_vmid: int,
    newid: int,
    name: str,
    target: str,
    pool: str,
    full: bool,
) -> str:
    return str(
        client.post(
            f"nodes/{node}/{guest_type}/{template_vmid}/clone",
            newid=newid,
            name=name,
            target=target,
            pool=pool,
            full=int(full),
        )
    )


def guest_config(client: PveClient, *, node: str, guest_type: GuestType, vmid: int) -> dict:
    return client.get(f"nodes/{node}/{guest_type}/{vmid}/config")


def guest_config_update(
    client: PveClient, *, node: str, guest_type: GuestType, vmid: int, **options: object
) -> None:
    """Synchronous config change (PUT), as PVE applies it at once to a stopped guest."""
    client.put(f"nodes/{node}/{guest_type}/{vmid}/config", **options)


def guest_resize(
    client: PveClient, *, node: str, guest_type: GuestType, vmid: int, disk: str, size: str
) -> str:
    return str(client.put(f"nodes/{node}/{guest_type}/{vmid}/resize", disk=disk, size=size))


def guest_destroy(client: PveClient, *, node: str, guest_type: GuestType, vmid: int) -> str:
    return str(
        client.delete(
            f"nodes/{node}/{guest_type}/{vmid}", purge=1, **{"destroy-unreferenced-disks": 1}
        )
    )


def container_create(
    client: PveClient,
    *,
    node: str,
    vmid: int,
    ostemplate: str,
    hostname: str,
    cores: int,
    memory_mb: int,
    rootfs: str,
    pool: str,
    ssh_keys: str = "",
    password: str = "",
    net0: str = "name=eth0,bridge=vmbr0,ip=dhcp",
) -> str:
    options: dict[str, object] = {
        "vmid": vmid,
        "ostemplate": ostemplate,
        "hostname": hostname,
        "cores": cores,
        "memory": memory_mb,
        "rootfs": rootfs,
        "pool": pool,
        "unprivileged": 1,
        "net0": net0,
    }
    if ssh_keys:
        options["ssh-public-keys"] = ssh_keys
    if password:
        options["password"] = password
    return str(client.post(f"nodes/{node}/lxc", **options))


def vm_create(
    client: PveClient,
    *,
    node: str,
    vmid: int,
    name: str,
    cores: int,
    memory_mb: int,
    disk: str,
    iso: str,
    pool: str,
) -> str:
    """A new VM with an empty disk (`storage:GiB`) and `iso` in its CD drive. The empty disk
    does not boot, so the firmware falls through to the installer on the CD."""
    return str(
        client.post(
            f"nodes/{node}/qemu",
            vmid=vmid,
            name=name,
            cores=cores,
            memory=memory_mb,
            scsihw="virtio-scsi-single",
            scsi0=disk,
            ide2=f"{iso},media=cdrom",
            net0="virtio,bridge=vmbr0",
            boot="order=scsi0;ide2;net0",
            ostype="l26",
            pool=pool,
        )
    )
