"""Console tickets (issue, redeem), the connection to PVE's console, and the audit trail.

Flow: the console page calls `console_ticket_issue` (privilege checked in the transaction, the
issue audited) and hands the token to its script; the websocket consumer calls
`console_ticket_redeem` (atomic, bound to the connecting session), then `console_connect`, which
asks PVE for a vncproxy or termproxy and logs in on PVE's websocket itself, so nothing of PVE's
reaches the browser.
"""

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, has_privileges, require
from apps.access.exceptions import AccessDenied
from apps.audit.services import audit_record
from apps.clusters.models import Node
from apps.clusters.selectors import node_get
from apps.clusters.services import endpoint_of
from apps.consoles.models import ConsoleTicket
from apps.guests.models import Guest
from apps.identity.models import User
from apps.proxmox import consoles as pve_consoles
from apps.proxmox.client import ClusterEndpoint, PveClient
from apps.proxmox.errors import ProxmoxError, ProxmoxNotFound, ProxmoxUnavailable
from apps.proxmox.guests import guest_config, guest_locate

logger = logging.getLogger(__name__)
SERIAL_PORTS = ("serial0", "serial1", "serial2", "serial3")
# Expired tickets are kept this long (for the back-office), then swept by the next issue.
TICKET_RETENTION = timedelta(days=1)


class ConsoleRefused(Exception):
    """The token is unknown, used, expired, from another session, or no longer allowed."""


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedTicket:
    token: str  # shown once, to the page that asked; only its hash is stored
    ticket: ConsoleTicket


def console_ticket_issue(
    *,
    actor: Principal,
    session_key: str,
    guest: Guest | None = None,
    node: Node | None = None,
    serial: str = "",
) -> IssuedTicket:
    """A one-time token for a guest's console (VM.Console on /vms/{vmid}), a VM's serial
    terminal (`serial`, e.g. serial0) or a node's shell (Sys.Console on /nodes/{node}), valid
    CONSOLE_TICKET_SECONDS for this user and session. Audited as `console.ticket_issued`."""
    if (guest is None) == (node is None):
        raise ValueError("a console is of a guest or of a node")
    if serial and (guest is None or guest.type != Guest.Type.QEMU or serial not in SERIAL_PORTS):
        raise ValueError("a serial terminal is a VM's, on serial0..serial3")
    if not isinstance(actor, User) or not session_key:
        raise AccessDenied(guest.acl_path if guest else f"/nodes/{node.name}", "VM.Console")
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        if guest is not None:
            require(actor, "VM.Console", guest.acl_path)
            values = {
                "cluster_id": guest.cluster_id,
                "guest": guest,
                "serial": serial,
                "protocol": ConsoleTicket.Protocol.VNC
                if guest.type == Guest.Type.QEMU and not serial
                else ConsoleTicket.Protocol.TERM,
            }
        else:
            if not node_shell_allowed(actor=actor, node=node):
                raise AccessDenied(f"/nodes/{node.name}", "Sys.Console")
            values = {
                "cluster_id": node.cluster_id,
                "node": node.name,
                "protocol": ConsoleTicket.Protocol.TERM,
            }
        ConsoleTicket.objects.filter(expires_at__lt=now - TICKET_RETENTION).delete()
        ticket = ConsoleTicket.objects.create(
            token_hash=hash_secret(token),
            user=actor,
            session_key_hash=hash_secret(session_key),
            expires_at=now + timedelta(seconds=settings.CONSOLE_TICKET_SECONDS),
            **values,
        )
        audit_record(
            action="console.ticket_issued",
            actor=audit_actor(actor),
            target=ticket.acl_path,
            detail=_ticket_detail(ticket),
        )
    return IssuedTicket(token=token, ticket=ticket)


def _ticket_detail(ticket: ConsoleTicket) -> dict[str, object]:
    detail: dict[str, object] = {"protocol": ticket.protocol, "ticket": ticket.pk}
    if ticket.serial:
        detail["serial"] = ticket.serial
    return detail


def node_shell_allowed(*, actor: Principal, node: Node) -> bool:
    """May `actor` open `node`'s shell: an operator who sees the node, with Sys.Console on it.
    A tenant's user never does, whatever ACL entry they were given."""
    try:
        node_get(actor=actor, cluster=node.cluster, name=node.name)
    except Http404:
        return False
    return has_privileges(actor, f"/nodes/{node.name}", "Sys.Console")


def guest_serial_ports(*, guest: Guest) -> list[str]:
    """The serial ports a VM has configured, as PVE says now; none when PVE cannot say (the
    page then offers no serial terminal rather than failing)."""
    if guest.type != Guest.Type.QEMU:
        return []
    try:
        config = guest_config(
            PveClient(endpoint_of(guest.cluster)),
            node=guest.node,
            guest_type=guest.type,
            vmid=guest.vmid,
        )
    except ProxmoxError as error:
        logger.info("serial ports of %s unknown: %s", guest.vmid, error)
        return []
    return pve_consoles.serial_ports(config)


def console_ticket_redeem(*, token: str, user: User, session_key: str) -> ConsoleTicket:
    """Use the token, once: it must be unused, unexpired, the user's and this session's, and
    the privilege must still be held. Audits the console's opening."""
    if not token or not session_key or not getattr(user, "is_authenticated", False):
        raise ConsoleRefused("not signed in")
    now = timezone.now()
    with transaction.atomic():
        # One UPDATE decides: two sockets racing for the same token cannot both win.
        claimed = ConsoleTicket.objects.filter(
            token_hash=hash_secret(token),
            user=user,
            session_key_hash=hash_secret(session_key),
            redeemed_at__isnull=True,
            expires_at__gt=now,
        ).update(redeemed_at=now)
        if claimed != 1:
            raise ConsoleRefused("unknown, used or expired console ticket")
        ticket = ConsoleTicket.objects.select_related("guest", "cluster", "user").get(
            token_hash=hash_secret(token)
        )
        reason = _end_reason(ticket)
        if reason:
            raise ConsoleRefused(reason)
        audit_record(
            action="console.opened",
            actor=audit_actor(user),
            target=ticket.acl_path,
            detail=_ticket_detail(ticket),
        )
    return ticket


def _end_reason(ticket: ConsoleTicket) -> str:
    if ticket.guest_id is not None:
        guest = Guest.objects.filter(pk=ticket.guest_id).first()
        if guest is None or guest.vanished_at is not None:
            return "the guest is gone"
    user = User.objects.get(pk=ticket.user_id)
    if ticket.guest_id is None:
        node = (
            Node.objects.select_related("cluster")
            .filter(cluster_id=ticket.cluster_id, name=ticket.node)
            .first()
        )
        allowed = node is not None and node_shell_allowed(actor=user, node=node)
    else:
        allowed = has_privileges(user, ticket.acl_path, ticket.privilege)
    return "" if allowed else "the console privilege was revoked"


def console_end_reason(*, ticket: ConsoleTicket, session_key: str) -> str:
    """Why an open console must end now ('' when it may go on): the session ended (logout),
    the guest went, or the user lost the privilege or the account."""
    from django.contrib.sessions.backends.base import SessionBase
    from django.utils.module_loading import import_string

    store: type[SessionBase] = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    if not store().exists(session_key):
        return "signed out"
    return _end_reason(ticket)


@dataclass
class ConsoleConnection:
    """An open, logged-in PVE console: relay bytes through `stream`."""

    stream: pve_consoles.ConsoleStream
    protocol: str
    # Terminal output that came with termproxy's OK, to be shown first.
    greeting: bytes = b""


def _pve_proxy(client: PveClient, ticket: ConsoleTicket) -> pve_consoles.ConsoleProxy:
    if ticket.guest is None:
        return pve_consoles.term_proxy(client, node=ticket.node)
    guest = ticket.guest
    if ticket.protocol == ConsoleTicket.Protocol.VNC:
        start = pve_consoles.vnc_proxy
    else:
        start = functools.partial(pve_consoles.term_proxy, serial=ticket.serial or None)
    try:
        return start(client, node=guest.node, guest_type=guest.type, vmid=guest.vmid)
    except ProxmoxNotFound:
        # Moved since the last sync: ask PVE where it is now.
        found = guest_locate(client, vmid=guest.vmid)
        if found is None or found.node == guest.node:
            raise
        return start(client, node=found.node, guest_type=guest.type, vmid=guest.vmid)


async def console_connect(*, ticket: ConsoleTicket) -> ConsoleConnection:
    """Ask PVE for a vncproxy (VMs) or termproxy (containers, VM serial ports, node shells),
    open its vncwebsocket with the portal's token and log in: VNC authentication with the
    password PVE returned, or termproxy's `user:ticket` line. Raises ProxmoxError."""
    endpoint: ClusterEndpoint = await database_sync_to_async(endpoint_of)(ticket.cluster)
    client = PveClient(endpoint)
    # Blocking HTTP: off the event loop, and not in the one thread the ORM calls share.
    proxy = await sync_to_async(_pve_proxy, thread_sensitive=False)(client, ticket)
    stream = await pve_consoles.console_open(endpoint, proxy)
    try:
        if ticket.protocol == ConsoleTicket.Protocol.VNC:
            await pve_consoles.vnc_login(
                stream, password=proxy.vnc_password, timeout=endpoint.timeout
            )
            return ConsoleConnection(stream=stream, protocol=ticket.protocol)
        greeting = await pve_consoles.term_login(stream, proxy=proxy, timeout=endpoint.timeout)
        return ConsoleConnection(stream=stream, protocol=ticket.protocol, greeting=greeting)
    except ProxmoxError:
        await stream.close()
        raise
    except TimeoutError as error:
        await stream.close()
        raise ProxmoxUnavailable("the console did not answer its login in time") from error
    except BaseException:  # cancelled: the browser went away meanwhile
        await stream.close()
        raise


def console_closed(
    *, ticket: ConsoleTicket, reason: str, seconds: float, bytes_in: int, bytes_out: int
) -> None:
    """Audit the end of a console: how long, how many bytes each way, and why."""
    with transaction.atomic():
        audit_record(
            action="console.closed",
            actor=audit_actor(ticket.user),
            target=ticket.acl_path,
            detail={
                "protocol": ticket.protocol,
                "ticket": ticket.pk,
                "reason": reason,
                "duration_seconds": round(seconds, 3),
                "bytes_from_browser": bytes_in,
                "bytes_to_browser": bytes_out,
            },
        )
