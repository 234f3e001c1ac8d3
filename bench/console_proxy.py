"""Throughput and added round-trip latency of the portal's console proxy, against websockify.

    .venv/bin/python bench/console_proxy.py

One RFB server (raw TCP, RFB 3.8, security None, a 1920x1080 true-colour framebuffer sent in
Raw encoding) is fronted by websockify with TLS, as PVE's vncwebsocket fronts QEMU's VNC port.
The same client reads the same RFB stream two ways, one after the other:

    websockify:  client -> websockify -> RFB server
    portal:      client -> portal (uvicorn, /ws/console/<token>/) -> websockify -> RFB server

For the portal, websockify plays PVE's API as well: a request handler of our own answers
`vncproxy` with a port and ticket. The portal reaches it as any registered cluster (API token,
pinned certificate) and runs unchanged: its ticket, RFB handshake and relay are the production
ones. Printed: MB/s of full-frame updates, and the round trip of a 1x1 update request (p50, p99)
per path, the portal's share of websockify's throughput, and the latency the portal's hop adds.
Numbers only; the database is a throw-away one (see bench/api_guests.py).
"""

import asyncio
import json
import multiprocessing
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._report import record
from bench.api_guests import REPO_ROOT, setup_django
from pvesim.tls import ensure_certificate, fingerprint
from soak.processes import free_port, wait_for_port

WIDTH, HEIGHT, BYTES_PER_PIXEL = 1920, 1080, 4
WARM_UP_FRAMES, FRAMES, ROUND_TRIPS = 2, 12, 300
TOKEN_ID, TOKEN_SECRET = "bench@pve!bench", "bench-secret"
MB = 1_000_000


# The RFB server ---------------------------------------------------------------------------------


async def _rfb_session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """RFB 3.8 with security None; every update request is answered at once, in Raw."""
    try:
        await _rfb_serve(reader, writer)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()  # the client went (or was only a port probe)


async def _rfb_serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    frame = bytes(range(256)) * (WIDTH * HEIGHT * BYTES_PER_PIXEL // 256)
    writer.write(b"RFB 003.008\n")
    await reader.readexactly(12)
    writer.write(bytes([1, 1]))  # one security type: None
    await reader.readexactly(1)
    writer.write(struct.pack(">I", 0))
    await reader.readexactly(1)  # ClientInit
    pixel_format = struct.pack(">BBBBHHHBBBxxx", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
    name = b"bench"
    writer.write(struct.pack(">HH", WIDTH, HEIGHT) + pixel_format + struct.pack(">I", len(name)))
    writer.write(name)
    fixed = {0: 19, 4: 7, 5: 5}  # bytes that follow these message types
    while True:
        kind = (await reader.readexactly(1))[0]
        if kind == 3:
            _incremental, x, y, w, h = struct.unpack(">BHHHH", await reader.readexactly(9))
            header = struct.pack(">BxHHHHHi", 0, 1, x, y, w, h, 0)
            writer.write(header + frame[: w * h * BYTES_PER_PIXEL])
            await writer.drain()
        elif kind == 2:
            (count,) = struct.unpack(">xH", await reader.readexactly(3))
            await reader.readexactly(4 * count)
        elif kind == 6:
            (length,) = struct.unpack(">xxxI", await reader.readexactly(7))
            await reader.readexactly(length)
        else:
            await reader.readexactly(fixed[kind])


def serve_rfb(port: int) -> None:
    async def run() -> None:
        server = await asyncio.start_server(_rfb_session, "127.0.0.1", port)
        await server.serve_forever()

    asyncio.run(run())


# websockify, also answering vncproxy as PVE's API would ----------------------------------------


def serve_websockify(port: int, rfb_port: int, cert: str, key: str) -> None:
    from websockify.websocketproxy import ProxyRequestHandler, WebSocketProxy

    class PveLikeHandler(ProxyRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            answer = {"user": TOKEN_ID, "ticket": "PVEVNC:bench", "port": 5900, "upid": ""}
            body = json.dumps({"data": answer}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    WebSocketProxy(
        RequestHandlerClass=PveLikeHandler,
        listen_host="127.0.0.1",
        listen_port=port,
        target_host="127.0.0.1",
        target_port=rfb_port,
        cert=cert,
        key=key,
        ssl_only=True,
    ).start_server()


# The client -------------------------------------------------------------------------------------


class RfbClient:
    def __init__(self, socket_: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket_
        self.buffer = bytearray()

    async def read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            message = await self.socket.receive()
            if message.type != aiohttp.WSMsgType.BINARY:
                raise ConnectionError(f"the console closed: {message.type} {message.extra}")
            self.buffer.extend(message.data)
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    async def handshake(self) -> None:
        await self.read(12)
        await self.socket.send_bytes(b"RFB 003.008\n")
        count = (await self.read(1))[0]
        assert 1 in await self.read(count), "security type None not offered"
        await self.socket.send_bytes(bytes([1]))
        await self.read(4)
        await self.socket.send_bytes(bytes([1]))  # ClientInit, shared
        await self.read(20)
        (length,) = struct.unpack(">I", await self.read(4))
        await self.read(length)

    async def update(self, width: int, height: int) -> int:
        """Request an update of width x height and read it; the bytes received."""
        await self.socket.send_bytes(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
        _kind, rects = struct.unpack(">BxH", await self.read(4))
        total = 4
        for _ in range(rects):
            _x, _y, w, h, _encoding = struct.unpack(">HHHHi", await self.read(12))
            await self.read(w * h * BYTES_PER_PIXEL)
            total += 12 + w * h * BYTES_PER_PIXEL
        return total


async def measure(url: str, **connect: object) -> tuple[float, list[float]]:
    """MB/s of full frames, and the round trips of 1x1 updates in milliseconds."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, protocols=("binary",), max_msg_size=0, **connect) as socket_,
    ):
        client = RfbClient(socket_)
        await client.handshake()
        for _ in range(WARM_UP_FRAMES):
            await client.update(WIDTH, HEIGHT)
        started = time.perf_counter()
        received = sum([await client.update(WIDTH, HEIGHT) for _ in range(FRAMES)])
        throughput = received / MB / (time.perf_counter() - started)
        round_trips = []
        for _ in range(ROUND_TRIPS):
            sent = time.perf_counter()
            await client.update(1, 1)
            round_trips.append((time.perf_counter() - sent) * 1000)
        return throughput, round_trips


# Set-up -----------------------------------------------------------------------------------------


def portal_console(websockify_port: int, fingerprint_: str):
    """A user, a session and a running VM on a cluster whose API is websockify's port; returns
    the session cookie and a function minting a console ticket for that VM."""
    from django.conf import settings
    from django.test import Client

    from apps.clusters.models import Cluster
    from apps.consoles.services import console_ticket_issue
    from apps.guests.models import Guest
    from apps.identity.services.users import user_create

    cluster = Cluster.objects.create(
        name="bench",
        api_addresses=[f"127.0.0.1:{websockify_port}"],
        token_id=TOKEN_ID,
        token_secret=TOKEN_SECRET,
        fingerprint=fingerprint_,
    )
    guest = Guest.objects.create(
        vmid=100, cluster=cluster, node="pve1", type="qemu", name="bench", status="running"
    )
    operator = user_create(userid="op@pve", password="x", is_staff=True)
    client = Client()
    client.force_login(operator)
    key = client.session.session_key

    def ticket() -> str:
        return console_ticket_issue(actor=operator, guest=guest, session_key=key).token

    return f"{settings.SESSION_COOKIE_NAME}={key}", ticket


def percentile_99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def report(name: str, throughput: float, round_trips: list[float]) -> None:
    p99 = percentile_99(round_trips)
    print(f"{name:<12} {throughput:>10.1f} {statistics.median(round_trips):>8.2f} {p99:>8.2f}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as data_dir:
        setup_django(data_dir)
        cert, key = ensure_certificate(Path(data_dir), "127.0.0.1")
        pin = fingerprint(cert)
        rfb_port, websockify_port, portal_port = free_port(), free_port(), free_port()
        processes = [
            multiprocessing.Process(target=serve_rfb, args=(rfb_port,), daemon=True),
            # Not a daemon: websockify starts a process for each connection.
            multiprocessing.Process(
                target=serve_websockify, args=(websockify_port, rfb_port, str(cert), str(key))
            ),
        ]
        for process in processes:
            process.start()
        cookie, ticket = portal_console(websockify_port, pin)
        portal = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "portal.asgi:application"),
                *("--host", "127.0.0.1", "--port", str(portal_port)),
                *("--log-level", "warning", "--lifespan", "off"),
            ],
            cwd=REPO_ROOT,
            env=os.environ,
        )
        try:
            for port in (rfb_port, websockify_port, portal_port):
                wait_for_port(port)
            pinned = aiohttp.Fingerprint(bytes.fromhex(pin.replace(":", "")))
            direct = asyncio.run(measure(f"wss://127.0.0.1:{websockify_port}/", ssl=pinned))
            proxied = asyncio.run(
                measure(
                    f"ws://127.0.0.1:{portal_port}/ws/console/{ticket()}/",
                    headers={"Origin": f"http://127.0.0.1:{portal_port}", "Cookie": cookie},
                )
            )
        finally:
            portal.terminate()
            portal.wait(timeout=10)
            for process in processes:
                process.terminate()
                process.join(timeout=10)
        frame_mb = WIDTH * HEIGHT * BYTES_PER_PIXEL / MB
        print(
            f"console relay: {FRAMES} full {WIDTH}x{HEIGHT} Raw frames ({frame_mb:.1f} MB each), "
            f"{ROUND_TRIPS} round trips of a 1x1 update"
        )
        print(f"{'relay':<12} {'MB/s':>10} {'p50 ms':>8} {'p99 ms':>8}")
        report("websockify", *direct)
        report("portal", *proxied)
        added = statistics.median(proxied[1]) - statistics.median(direct[1])
        print(f"portal / websockify throughput: {proxied[0] / direct[0]:.2f}")
        print(f"latency added by the portal's hop (p50): {added:.2f} ms")
        record_relay(direct, proxied)


def record_relay(direct: tuple[float, list[float]], proxied: tuple[float, list[float]]) -> None:
    """The portal's numbers, each with websockify's from the same run as its peer."""
    record(
        "console_proxy",
        "full-frame throughput",
        proxied[0],
        "MB/s",
        peer="websockify",
        peer_value=direct[0],
        higher_is_better=True,
    )
    for label, statistic in (("p50", statistics.median), ("p99", percentile_99)):
        record(
            "console_proxy",
            f"1x1 update round trip, {label}",
            statistic(proxied[1]),
            "ms",
            peer="websockify",
            peer_value=statistic(direct[1]),
        )


if __name__ == "__main__":
    main()
