"""The QEMU guest agent of VMs: ping, info and set-user-password (qemu-server's API2/Qemu/Agent).

The simulated agent answers when the VM runs and its config enables the agent, as a VM with
qemu-guest-agent installed would. Passwords it sets are what the guest's /etc/shadow would hold:
DIR/guest-agent/<vmid>.json maps each user to a salted hash (or to the crypt() string given with
`crypted=1`), so tests can check them with :func:`password_matches`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

from pvecore.guestconfig import parse_property_string
from pvesim.context import RequestContext
from pvesim.errors import die
from pvesim.params import NODE, VMID, Param, opt
from pvesim.routes import endpoint
from pvesim.state import Guest
from pvesim.store import read_json, write_json

AGENT_VERSION = "9.2.0"
TRUE_VALUES = ("1", "on", "yes", "true")
SUPPORTED_COMMANDS = ("guest-info", "guest-ping", "guest-set-user-password")
AUDIT_OR_UNRESTRICTED = {
    "check": [
        "perm",
        "/vms/{vmid}",
        ["VM.GuestAgent.Audit", "VM.GuestAgent.Unrestricted"],
        "any",
        1,
    ]
}


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_matches(stored: str, password: str) -> bool:
    """Whether `stored` (an entry of guest-agent/<vmid>.json) is the hash of `password`."""
    scheme, _, rest = stored.partition("$")
    if scheme != "scrypt":
        return False
    salt = base64.b64decode(rest.partition("$")[0])
    return hmac.compare_digest(hash_password(password, salt), stored)


def _agent_enabled(guest: Guest) -> bool:
    value = guest.config.get("agent")
    if value is None:
        return False
    return parse_property_string(value, default_key="enabled").get("enabled") in TRUE_VALUES


def _answering_guest(ctx: RequestContext, params: dict[str, Any]) -> Guest:
    """The VM whose agent answers, or PVE's error (assert_agent_available)."""
    guest = ctx.sim.state.guest(params["node"], "qemu", params["vmid"])
    if not _agent_enabled(guest):
        raise die("No QEMU guest agent configured")
    if guest.status == "stopped":
        raise die(f"VM {guest.vmid} is not running")
    if guest.status != "running":  # a paused VM's agent does not answer its ping
        raise die("QEMU guest agent is not running")
    return guest


@endpoint(
    "POST",
    "/nodes/{node}/qemu/{vmid}/agent/ping",
    params=(NODE, VMID),
    permissions=AUDIT_OR_UNRESTRICTED,
    protected=True,
    proxyto="node",
)
async def agent_ping(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _answering_guest(ctx, params)
    return {"result": {}}


@endpoint(
    "GET",
    "/nodes/{node}/qemu/{vmid}/agent/info",
    params=(NODE, VMID),
    permissions=AUDIT_OR_UNRESTRICTED,
    protected=True,
    proxyto="node",
)
async def agent_info(ctx: RequestContext, params: dict[str, Any]) -> Any:
    _answering_guest(ctx, params)
    commands = [
        {"name": name, "enabled": True, "success-response": True} for name in SUPPORTED_COMMANDS
    ]
    return {"result": {"version": AGENT_VERSION, "supported_commands": commands}}


@endpoint(
    "POST",
    "/nodes/{node}/qemu/{vmid}/agent/set-user-password",
    params=(
        opt("crypted", "boolean", default=0),
        NODE,
        Param("password", min_length=5, max_length=1024),
        Param("username"),
        VMID,
    ),
    permissions={"check": ["perm", "/vms/{vmid}", ["VM.GuestAgent.Unrestricted"]]},
    protected=True,
    proxyto="node",
)
async def agent_set_user_password(ctx: RequestContext, params: dict[str, Any]) -> Any:
    guest = _answering_guest(ctx, params)
    path = ctx.sim.state.guest_agent_path(guest.vmid)
    shadow = read_json(path, {})
    password = params["password"]
    shadow[params["username"]] = password if params.get("crypted") else hash_password(password)
    write_json(path, shadow, mode=0o600)
    return {"result": {}}
