"""VNC and terminal consoles on PVE (FACTS §7): vncproxy/termproxy, the vncwebsocket, and the
logins on it (RFB VNC authentication, termproxy's `user:ticket` line).

The websocket to PVE reuses the cluster's endpoint: the same API token, and the same TLS rule
as `client.py` (the pinned SHA-256 fingerprint, else the CA bundle with host name checks),
checked before any header is sent. The portal's console proxy (apps/consoles) is the only
caller; nothing here ever goes to the browser.
"""

import asyncio
import ssl
import struct
import urllib.parse
from dataclasses import dataclass
from typing import Literal

import aiohttp
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from apps.proxmox import errors
from apps.proxmox.client import ClusterEndpoint, PveClient, split_address
from apps.proxmox.tls import normalize_fingerprint

GuestType = Literal["qemu", "lxc"]
RFB_VERSION = b"RFB 003.008\n"
SECURITY_NONE, SECURITY_VNC_AUTH = 1, 2
# The largest websocket message accepted from PVE (a full 4K frame in Raw encoding fits).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ConsoleProxy:
    """What vncproxy/termproxy answered, plus where to open the websocket."""

    path: str  # nodes/{node}/{type}/{vmid} or nodes/{node}: the vncwebsocket lives below it
    user: str
    ticket: str
    port: int
    upid: str
    password: str | None
    address: str  # the API address that answered: the websocket goes to the same one

    @property
    def vnc_password(self) -> str:
        """FACTS §7's portable rule: `password` when PVE returned one, else the ticket."""
        return self.password or self.ticket


def _proxy(client: PveClient, path: str, action: str, **params: object) -> ConsoleProxy:
    answer = client.post(f"{path}/{action}", **params)
    return ConsoleProxy(
        path=path,
        user=str(answer["user"]),
        ticket=str(answer["ticket"]),
        port=int(answer["port"]),
        upid=str(answer.get("upid", "")),
        password=answer.get("password") or None,
        address=client.current_address,
    )


def vnc_proxy(client: PveClient, *, node: str, guest_type: GuestType, vmid: int) -> ConsoleProxy:
    """Start a VNC proxy for a guest (noVNC); the websocket must be opened within seconds."""
    return _proxy(client, f"nodes/{node}/{guest_type}/{vmid}", "vncproxy", websocket=1)


def term_proxy(
    client: PveClient,
    *,
    node: str,
    guest_type: GuestType | None = None,
    vmid: int | None = None,
    serial: str | None = None,
) -> ConsoleProxy:
    """Start a terminal proxy (xterm.js): a container's console, a VM's serial port `serial`
    (serial0..serial3) or, without a guest, the node's shell (Sys.Console on /nodes/{node})."""
    if vmid is None:
        return _proxy(client, f"nodes/{node}", "termproxy")
    params = {"serial": serial} if serial else {}
    return _proxy(client, f"nodes/{node}/{guest_type}/{vmid}", "termproxy", **params)


def serial_ports(config: dict) -> list[str]:
    """The serial ports a VM's config has (`serial0`..`serial3`), in order."""
    return [f"serial{n}" for n in range(4) if config.get(f"serial{n}")]


def _ssl_for(endpoint: ClusterEndpoint) -> aiohttp.Fingerprint | ssl.SSLContext:
    if endpoint.fingerprint:
        # aiohttp compares the SHA-256 of the certificate before the request goes out.
        return aiohttp.Fingerprint(bytes.fromhex(normalize_fingerprint(endpoint.fingerprint)))
    return ssl.create_default_context(cadata=endpoint.ca_bundle)


def _websocket_url(proxy: ConsoleProxy) -> str:
    host, port = split_address(proxy.address)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    query = urllib.parse.urlencode({"port": proxy.port, "vncticket": proxy.ticket})
    return f"wss://{host}:{port}/api2/json/{proxy.path}/vncwebsocket?{query}"


class ConsoleStream:
    """PVE's side of one console: websocket messages as a byte stream."""

    def __init__(self, session: aiohttp.ClientSession, socket: aiohttp.ClientWebSocketResponse):
        self._session = session
        self._socket = socket
        self._buffer = bytearray()

    async def receive(self) -> bytes | None:
        """The next bytes from PVE, or None once the connection has ended."""
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            return data
        message = await self._socket.receive()
        if message.type == aiohttp.WSMsgType.BINARY:
            return message.data
        if message.type == aiohttp.WSMsgType.TEXT:
            return message.data.encode()
        return None

    async def read_exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            message = await self._socket.receive()
            if message.type == aiohttp.WSMsgType.BINARY:
                self._buffer.extend(message.data)
            elif message.type == aiohttp.WSMsgType.TEXT:
                self._buffer.extend(message.data.encode())
            else:
                raise errors.ProxmoxUnavailable("the console closed during its login")
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    async def send(self, data: bytes) -> None:
        """Waits while PVE's side is not draining (back-pressure)."""
        await self._socket.send_bytes(data)

    async def close(self) -> None:
        try:
            await self._socket.close()
        finally:
            await self._session.close()


async def console_open(endpoint: ClusterEndpoint, proxy: ConsoleProxy) -> ConsoleStream:
    """Open PVE's vncwebsocket for `proxy` with the portal's token (subprotocol `binary`)."""
    user, token_name = endpoint.token_id.split("!", 1)
    headers = {"Authorization": f"PVEAPIToken={user}!{token_name}={endpoint.token_secret}"}
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
    try:
        async with asyncio.timeout(endpoint.timeout):
            socket = await session.ws_connect(
                _websocket_url(proxy),
                protocols=("binary",),
                headers=headers,
                ssl=_ssl_for(endpoint),
                max_msg_size=MAX_MESSAGE_BYTES,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=endpoint.timeout),
                heartbeat=None,
                autoping=True,
            )
    except aiohttp.WSServerHandshakeError as error:
        await session.close()
        if error.status == 401:
            raise errors.ProxmoxAuthenticationFailed(
                "PVE refused the console ticket", status=401
            ) from error
        if error.status == 403:
            raise errors.ProxmoxPermissionDenied("PVE refused the console", status=403) from error
        raise errors.ProxmoxUnavailable(
            f"PVE refused the console websocket ({error.status})", status=error.status
        ) from error
    except (aiohttp.ServerFingerprintMismatch, aiohttp.ClientSSLError) as error:
        await session.close()
        raise errors.ProxmoxTlsMismatch(
            "the cluster's TLS certificate does not match its pin or CA"
        ) from error
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        await session.close()
        raise errors.ProxmoxUnavailable(
            f"the cluster's console is not reachable ({type(error).__name__})"
        ) from error
    except BaseException:  # cancelled: the browser went away meanwhile
        await session.close()
        raise
    return ConsoleStream(session, socket)


def vnc_des_key(password: str) -> bytes:
    """VNC's DES key: the password's first 8 bytes, zero padded, each byte's bits reversed."""
    raw = password.encode("latin-1", "replace")[:8].ljust(8, b"\0")
    return bytes(int(f"{byte:08b}"[::-1], 2) for byte in raw)


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    # Single DES as TripleDES with the key repeated; VNC authentication is what QEMU speaks.
    cipher = Cipher(TripleDES(vnc_des_key(password) * 3), modes.ECB())  # noqa: S305
    encryptor = cipher.encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


async def vnc_login(stream: ConsoleStream, *, password: str, timeout: float) -> None:
    """Run RFB 3.8's version and security handshake with PVE (VNC authentication); after it,
    PVE waits for the client's ClientInit, which the browser sends through the proxy."""
    async with asyncio.timeout(timeout):
        version = await stream.read_exactly(12)
        if not version.startswith(b"RFB 003."):
            raise errors.ProxmoxInvalid("the console does not speak RFB")
        await stream.send(RFB_VERSION)
        count = (await stream.read_exactly(1))[0]
        if count == 0:
            (length,) = struct.unpack(">I", await stream.read_exactly(4))
            reason = (await stream.read_exactly(length)).decode(errors="replace")
            raise errors.ProxmoxUnavailable(f"the console refused the connection: {reason}")
        offered = await stream.read_exactly(count)
        if SECURITY_VNC_AUTH in offered:
            await stream.send(bytes([SECURITY_VNC_AUTH]))
            challenge = await stream.read_exactly(16)
            await stream.send(vnc_auth_response(password, challenge))
        elif SECURITY_NONE in offered:
            await stream.send(bytes([SECURITY_NONE]))
        else:
            raise errors.ProxmoxInvalid(f"no supported VNC security type in {list(offered)}")
        (result,) = struct.unpack(">I", await stream.read_exactly(4))
        if result != 0:
            raise errors.ProxmoxAuthenticationFailed("PVE refused the VNC password")


async def term_login(stream: ConsoleStream, *, proxy: ConsoleProxy, timeout: float) -> bytes:
    """Send termproxy's `user:ticket` line; returns the terminal output that followed `OK`."""
    async with asyncio.timeout(timeout):
        await stream.send(f"{proxy.user}:{proxy.ticket}\n".encode())
        first = await stream.receive()
    if first is None or not first.startswith(b"OK"):
        raise errors.ProxmoxAuthenticationFailed("PVE refused the terminal ticket")
    return first[2:]
