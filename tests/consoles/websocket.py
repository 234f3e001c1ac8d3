"""A browser's side of the console websocket, over Channels' communicator through the real ASGI
stack (origin check, sessions): what noVNC and xterm.js would send and read."""

import struct

from channels.testing import WebsocketCommunicator
from django.test import Client

from portal.asgi import application

ORIGIN = b"http://127.0.0.1"
TIMEOUT = 10


class Closed(Exception):
    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


def session_key_of(client: Client) -> str:
    return client.session.session_key


def communicator_for(token: str, session_key: str, *, origin: bytes = ORIGIN):
    return WebsocketCommunicator(
        application,
        f"/ws/console/{token}/",
        headers=[
            (b"host", b"127.0.0.1"),
            (b"origin", origin),
            (b"cookie", f"sessionid={session_key}".encode()),
        ],
        subprotocols=["binary"],
    )


class BrowserSide:
    """What noVNC or xterm.js would do, over the communicator."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator
        self.buffer = bytearray()
        self.received = bytearray()

    async def message(self) -> bytes:
        output = await self.communicator.receive_output(timeout=TIMEOUT)
        if output["type"] == "websocket.close":
            raise Closed(output.get("code"))
        data = output.get("bytes") or output.get("text", "").encode()
        self.received.extend(data)
        return data

    async def read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self.buffer.extend(await self.message())
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    async def send(self, data: bytes) -> None:
        await self.communicator.send_to(bytes_data=data)

    async def closed(self) -> int | None:
        """Read on until the proxy closes; the close code."""
        while True:
            try:
                await self.message()
            except Closed as closed:
                return closed.code

    # RFB, as a client with security type None
    async def rfb_handshake(self) -> tuple[int, int, bytes]:
        assert await self.read(12) == b"RFB 003.008\n"
        await self.send(b"RFB 003.008\n")
        count = (await self.read(1))[0]
        assert list(await self.read(count)) == [1]  # security type None only
        await self.send(bytes([1]))
        assert struct.unpack(">I", await self.read(4)) == (0,)
        await self.send(bytes([1]))  # ClientInit, shared
        width, height = struct.unpack(">HH", await self.read(4))
        await self.read(16)  # pixel format: 32 bpp true colour
        (length,) = struct.unpack(">I", await self.read(4))
        return width, height, await self.read(length)

    async def request_frame(self, width: int, height: int, *, incremental: bool) -> None:
        await self.send(struct.pack(">BBHHHH", 3, int(incremental), 0, 0, width, height))

    async def read_frame(self) -> bytes:
        kind, rects = struct.unpack(">BxH", await self.read(4))
        assert kind == 0
        pixels = b""
        for _ in range(rects):
            _x, _y, width, height, encoding = struct.unpack(">HHHHi", await self.read(12))
            assert encoding == 0
            pixels += await self.read(width * height * 4)
        return pixels

    async def press(self, keysym: int) -> None:
        await self.send(struct.pack(">BBxxI", 4, 1, keysym) + struct.pack(">BBxxI", 4, 0, keysym))
