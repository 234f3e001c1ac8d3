"""The console proxy: `ws/console/<token>/`, between the browser and PVE's vncwebsocket.

1. The token is redeemed (once, for this user and session); otherwise the upgrade is refused.
2. `console_connect` asks PVE for a vncproxy/termproxy and logs in on its websocket.
3. VNC: the browser gets an RFB handshake of its own with security type None, then both sides
   are spliced byte for byte from the browser's ClientInit on. Terminal: PVE's `OK` is eaten
   and the browser speaks termproxy's framing (`0:len:data`, `1:cols:rows:`, `2`) through us.
4. Back-pressure: each direction awaits the other side's send before reading more.
5. The console ends when either side closes, on logout, when the guest goes, when the privilege
   is revoked (re-checked on every access change and every CONSOLE_RECHECK_SECONDS), after
   CONSOLE_IDLE_SECONDS without input and after CONSOLE_MAX_SECONDS. Opening and closing are
   audited, the close with its duration and bytes.

Close codes after the upgrade: 1000 PVE ended the console, 4403 no longer allowed (logout,
revocation, guest gone), 4408 idle or maximum length, 4502 PVE refused or is unreachable.
"""

import asyncio
import logging
import struct
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from apps.access.compiled import VERSION_RECHECK_SECONDS
from apps.consoles import notify
from apps.consoles.models import ConsoleTicket
from apps.consoles.services import (
    ConsoleRefused,
    console_closed,
    console_connect,
    console_end_reason,
    console_ticket_redeem,
)
from apps.core.consumers import EndsWhenTheChannelLayerFails
from apps.monitoring.instruments import CONSOLES_OPEN
from apps.proxmox.consoles import RFB_VERSION, ConsoleStream
from apps.proxmox.errors import ProxmoxError

logger = logging.getLogger(__name__)

CLOSE_ENDED, CLOSE_FORBIDDEN, CLOSE_TIMEOUT, CLOSE_UPSTREAM = 1000, 4403, 4408, 4502
CLOSE_TRY_AGAIN_LATER = 1013
SECURITY_NONE = 1
HANDSHAKE_TIMEOUT_SECONDS = 30.0
# What the browser may send before PVE's side is ready (a few small messages in practice).
MAX_PENDING_BYTES = 1024 * 1024
FRAMEBUFFER_UPDATE_REQUEST, FRAMEBUFFER_UPDATE_REQUEST_SIZE = 3, 10


def _is_input(protocol: str, data: bytes) -> bool:
    """Does this browser message count as activity? Not termproxy's keep-alive, and not
    noVNC's automatic framebuffer update requests."""
    if protocol == ConsoleTicket.Protocol.TERM:
        return data != b"2"
    size = FRAMEBUFFER_UPDATE_REQUEST_SIZE
    return not (
        data
        and len(data) % size == 0
        and all(data[i] == FRAMEBUFFER_UPDATE_REQUEST for i in range(0, len(data), size))
    )


def _is_term_frame(data: bytes) -> bool:
    return data == b"2" or data.startswith((b"0:", b"1:"))


class ConsoleConsumer(EndsWhenTheChannelLayerFails, AsyncWebsocketConsumer):
    async def connect(self) -> None:
        self.ticket: ConsoleTicket | None = None
        self.finished = False
        self.tasks: list[asyncio.Task] = []
        self.session_key = getattr(self.scope.get("session"), "session_key", None) or ""
        try:
            self.ticket = await database_sync_to_async(console_ticket_redeem)(
                token=self.scope["url_route"]["kwargs"]["token"],
                user=self.scope.get("user"),
                session_key=self.session_key,
            )
        except ConsoleRefused:
            await self.close()  # before the upgrade: the browser sees 403
            return
        # Counted from here: with a redeemed ticket, _finish runs (and counts it out) once.
        CONSOLES_OPEN.inc()
        self.protocol = self.ticket.protocol
        self.opened_at = self.last_input = self.last_check = time.monotonic()
        self.bytes_in = self.bytes_out = 0
        self.pve: ConsoleStream | None = None
        self.pve_lock = asyncio.Lock()
        self.relaying = False
        self.pending: list[bytes] = []
        self.pending_arrived = asyncio.Event()
        self.wake_watchdog = asyncio.Event()
        try:
            for group in (
                notify.ACCESS_GROUP,
                notify.session_group(self.session_key),
                *([notify.guest_group(self.ticket.guest.vmid)] if self.ticket.guest_id else []),
            ):
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups.append(group)
        except Exception as error:  # the channel layer down (Redis restarting)
            # A console that cannot be told of a revocation or a logout does not open.
            logger.warning("console refused: the channel layer is unreachable: %r", error)
            await self._finish("the channel layer is unreachable")
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        subprotocols = self.scope.get("subprotocols") or []
        await self.accept("binary" if "binary" in subprotocols else None)
        self.tasks = [
            asyncio.create_task(self._relay_from_pve()),
            asyncio.create_task(self._watchdog()),
        ]

    # Browser -> PVE ---------------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.ticket is None or self.finished:
            return
        data = bytes_data if bytes_data is not None else (text_data or "").encode()
        if not data:
            return
        if self.protocol == ConsoleTicket.Protocol.TERM and not _is_term_frame(data):
            return  # only termproxy's own framing goes through
        self.bytes_in += len(data)
        if _is_input(self.protocol, data):
            self.last_input = time.monotonic()
        if not self.relaying:
            self.pending.append(data)
            self.pending_arrived.set()
            if sum(map(len, self.pending)) > MAX_PENDING_BYTES:
                await self._end("too much input before the console was ready", CLOSE_UPSTREAM)
            return
        await self._to_pve(data)

    async def _to_pve(self, data: bytes) -> None:
        assert self.pve is not None
        async with self.pve_lock:  # keeps order; waits while PVE's side is not draining
            try:
                await self.pve.send(data)
            except (ConnectionError, RuntimeError):
                await self._end("the console ended", CLOSE_ENDED)

    # PVE -> browser ---------------------------------------------------------------------------

    async def _to_browser(self, data: bytes) -> None:
        self.bytes_out += len(data)
        await self.send(bytes_data=data)

    async def _relay_from_pve(self) -> None:
        try:
            connection = await console_connect(ticket=self.ticket)
        except ProxmoxError as error:
            logger.info("console %s: PVE refused: %s", self.ticket.pk, error)
            await self._end(f"PVE: {error.message}", CLOSE_UPSTREAM)
            return
        self.pve = connection.stream
        if self.finished:  # ended while PVE was being asked
            await self.pve.close()
            return
        try:
            if self.protocol == ConsoleTicket.Protocol.VNC:
                async with asyncio.timeout(HANDSHAKE_TIMEOUT_SECONDS):
                    if not await self._browser_rfb_handshake():
                        await self._end("the browser does not speak RFB 3.x", CLOSE_ENDED)
                        return
            elif connection.greeting:
                await self._to_browser(connection.greeting)
        except TimeoutError:
            await self._end("the browser did not complete the VNC handshake", CLOSE_TIMEOUT)
            return
        async with self.pve_lock:
            self.relaying = True
            pending, self.pending = self.pending, []
            for data in pending:
                await self.pve.send(data)
        try:
            while not self.finished:
                data = await self.pve.receive()
                if data is None:
                    break
                await self._to_browser(data)
        except Exception:
            logger.exception("console %s: relay failed", self.ticket.pk)
            await self._end("the console failed", CLOSE_UPSTREAM)
            return
        await self._end("the console ended", CLOSE_ENDED)

    async def _browser_read(self, count: int) -> bytes:
        """The next `count` bytes the browser sent during the handshake."""
        while True:
            buffered = b"".join(self.pending)
            if len(buffered) >= count:
                self.pending = [buffered[count:]] if len(buffered) > count else []
                return buffered[:count]
            self.pending_arrived.clear()
            await self.pending_arrived.wait()

    async def _browser_rfb_handshake(self) -> bool:
        """Be an RFB server to the browser up to its ClientInit, offering security None: PVE's
        VNC password was already used by the proxy and never leaves it."""
        await self._to_browser(RFB_VERSION)
        version = await self._browser_read(12)
        if not version.startswith(b"RFB 003.") or not version[8:11].isdigit():
            return False
        minor = int(version[8:11])
        if minor >= 7:
            await self._to_browser(bytes([1, SECURITY_NONE]))
            if (await self._browser_read(1))[0] != SECURITY_NONE:
                return False
            if minor >= 8:
                await self._to_browser(struct.pack(">I", 0))  # SecurityResult: OK
        else:  # 3.3: the server names the type
            await self._to_browser(struct.pack(">I", SECURITY_NONE))
        return True  # what follows (ClientInit onwards) is PVE's

    # Ending -----------------------------------------------------------------------------------

    async def _watchdog(self) -> None:
        idle, longest = settings.CONSOLE_IDLE_SECONDS, settings.CONSOLE_MAX_SECONDS
        every = settings.CONSOLE_RECHECK_SECONDS
        while not self.finished:
            now = time.monotonic()
            if now >= self.opened_at + longest:
                await self._end("the console reached its maximum length", CLOSE_TIMEOUT)
                return
            if now >= self.last_input + idle:
                await self._end("the console was idle too long", CLOSE_TIMEOUT)
                return
            if now >= self.last_check + every:
                await self._recheck()
                continue
            wake = min(self.opened_at + longest, self.last_input + idle, self.last_check + every)
            self.wake_watchdog.clear()
            try:
                async with asyncio.timeout(wake - now):
                    await self.wake_watchdog.wait()
            except TimeoutError:
                pass

    async def _recheck(self) -> None:
        self.last_check = time.monotonic()
        reason = await database_sync_to_async(console_end_reason)(
            ticket=self.ticket, session_key=self.session_key
        )
        if reason:
            await self._end(reason, CLOSE_FORBIDDEN)

    async def console_recheck(self, _message: dict) -> None:
        """Access changed somewhere: check now, and once more when other processes' cached
        access models have caught up (they re-read the shared version that often)."""
        if self.ticket is None or self.finished:
            return
        await self._recheck()
        self.last_check = min(
            self.last_check,
            time.monotonic() + VERSION_RECHECK_SECONDS + 0.1 - settings.CONSOLE_RECHECK_SECONDS,
        )
        self.wake_watchdog.set()

    async def console_end(self, message: dict) -> None:
        if self.ticket is not None:
            await self._end(str(message.get("reason", "ended")), CLOSE_FORBIDDEN)

    async def _end(self, reason: str, code: int) -> None:
        if self.finished:
            return
        try:
            await self._finish(reason)  # audited before the browser learns of the end
        finally:
            await self.close(code=code, reason=reason[:120])

    async def disconnect(self, code: int) -> None:
        if self.ticket is not None:
            await self._finish(f"closed by the browser ({code})")

    async def channel_layer_lost(self) -> None:
        # Revocations and logouts could no longer reach this console: it ends.
        if getattr(self, "ticket", None) is not None:
            await self._finish("the channel layer failed")

    async def _finish(self, reason: str) -> None:
        """Stop relaying, release PVE's side and audit the close: once per console."""
        if self.finished:
            return
        self.finished = True
        CONSOLES_OPEN.dec()
        current = asyncio.current_task()
        for task in self.tasks:
            if task is not current:
                task.cancel()
        if self.pve is not None:
            try:
                await self.pve.close()
            except Exception:
                logger.debug("closing PVE's console side failed", exc_info=True)
        try:
            await database_sync_to_async(console_closed)(
                ticket=self.ticket,
                reason=reason,
                seconds=time.monotonic() - self.opened_at,
                bytes_in=self.bytes_in,
                bytes_out=self.bytes_out,
            )
        except Exception:
            logger.exception("console %s: could not audit its close", self.ticket.pk)
