"""A VM's QEMU guest agent, reached through PVE (`nodes/{node}/qemu/{vmid}/agent/...`)."""

from apps.proxmox.client import PveClient
from apps.proxmox.errors import ProxmoxError, ProxmoxPermissionDenied

# PVE's answers when the agent cannot be used (qemu-server's assert_agent_available): none
# configured, the VM not running, or the agent inside it not answering (a ping that fails, or a
# command that times out: "VM 100 qmp command 'guest-...' failed - got timeout").
_UNAVAILABLE_MARKERS = ("no qemu guest agent configured", "not running", "qmp command")


def agent_unavailable(error: ProxmoxError) -> bool:
    """Whether PVE refused because the agent cannot be used now, or the portal's token may not
    use it (PVE 9: VM.GuestAgent.*), rather than the cluster failing."""
    if isinstance(error, ProxmoxPermissionDenied):
        return True
    return error.status == 500 and any(
        marker in error.message.lower() for marker in _UNAVAILABLE_MARKERS
    )


def agent_ping(client: PveClient, *, node: str, vmid: int) -> None:
    client.post(f"nodes/{node}/qemu/{vmid}/agent/ping")


def agent_set_user_password(
    client: PveClient, *, node: str, vmid: int, username: str, password: str
) -> None:
    """Set the password of a user inside the running VM (the agent's guest-set-user-password)."""
    client.post(
        f"nodes/{node}/qemu/{vmid}/agent/set-user-password", username=username, password=password
    )
