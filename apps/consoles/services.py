"""Console tickets (issue, redeem), the connection to PVE's console, and the audit trail.

Flow: the console page calls `console_ticket_issue` (privilege checked in the transaction) and
hands the token to its script; the websocket consumer calls `console_ticket_redeem` (atomic,
bound to the connecting session), then `console_connect`, which asks PVE for a vncproxy or
termproxy and logs in on PVE's websocket itself, so nothing of PVE's reaches the browser.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, has_privileges, require
from apps.access.exceptions import AccessDenied
from apps.audit.services import audit_record
from apps.clusters.models import Node
from apps.clusters.services import endpoint_of
from apps.consoles.models import ConsoleTicket
from apps.guests.models import Guest
from apps.identity.models import User
from apps.proxmox import consoles as pve_consoles
from apps.proxmox.client import ClusterEndpoint, PveClient
from apps.proxmox.errors import ProxmoxError, ProxmoxNotFound, ProxmoxUnavailable
from apps.proxmox.guests import guest_locate

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
) -> IssuedTicket:
    """A one-time token for a guest's console (VM.Console on /vms/{vmid}) or a node's shell
    (Sys.Console on /nodes/{node}), valid CONSOLE_TICKET_SECONDS for this user and session."""
    if (guest is None) == (node is None):
        raise ValueError("a console is of a guest or of a node")
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
                "protocol": ConsoleTicket.Protocol.VNC
                if guest.type == Guest.Type.QEMU
                else ConsoleTicket.Protocol.TERM,
            }
        else:
            require(actor, "Sys.Console", f"/nodes/{node.name}")
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
    return IssuedTicket(token=token, ticket=ticket)


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
            detail={"protocol": ticket.protocol, "ticket": ticket.pk},
        )
    return ticket


def _end_reason(ticket: ConsoleTicket) -> str:
    if ticket.guest_id is not None:
        guest = Guest.objects.filter(pk=ticket.guest_id).first()
        if guest is None or guest.vanished_at is not None:
            return "the guest is gone"
    user = User.objects.get(pk=ticket.user_id)
    if not has_privileges(user, ticket.acl_path, ticket.privilege):
        return "the console privilege was revoked"
    return ""


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
    start = pve_consoles.vnc_proxy if ticket.protocol == "vnc" else pve_consoles.term_proxy
    try:
        return start(client, node=guest.node, guest_type=guest.type, vmid=guest.vmid)
    except ProxmoxNotFound:
        # Moved since the last sync: ask PVE where it is now.
        found = guest_locate(client, vmid=guest.vmid)
        if found is None or found.node == guest.node:
            raise
        return start(client, node=found.node, guest_type=guest.type, vmid=guest.vmid)


async def console_connect(*, ticket: ConsoleTicket) -> ConsoleConnection:
    """Ask PVE for a vncproxy (VMs) or termproxy (containers, node shells), open its
    vncwebsocket with the portal's token and log in: VNC authentication with the password
    PVE returned, or termproxy's `user:ticket` line. Raises ProxmoxError."""
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
