"""Console sessions created by vncproxy/termproxy and consumed once by vncwebsocket.

A session reserves a port in 5900-5999 and is bound to the user, the guest (or node) and the
ticket; its ``vncproxy`` task (``vncshell`` for a node's shell) runs until the websocket closes,
or fails when nobody connects in time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from pvesim.tasks import TaskContext, TaskError, Worker

PORT_RANGE = range(5900, 6000)
CONNECT_TIMEOUT = 10.0  # seconds the proxy waits for the websocket, as PVE's does


@dataclass
class ConsoleSession:
    port: int
    mode: str  # "vnc" (RFB) or "term" (termproxy)
    node: str
    kind: str  # "qemu", "lxc", or "node" for a node's shell (vmid 0)
    vmid: int
    path: str  # what the ticket is bound to: /vms/{vmid} or /nodes/{node}
    user: str
    ticket: str
    password: str | None
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    used: bool = False


class ConsoleRegistry:
    def __init__(self) -> None:
        self._sessions: dict[int, ConsoleSession] = {}
        self._sockets: set[web.WebSocketResponse] = set()

    def free_port(self) -> int:
        for port in PORT_RANGE:
            if port not in self._sessions:
                return port
        raise TaskError("unable to find free port (5900-5999)")

    def add(self, session: ConsoleSession) -> None:
        self._sessions[session.port] = session

    def get(self, port: int) -> ConsoleSession | None:
        return self._sessions.get(port)

    def release(self, session: ConsoleSession) -> None:
        session.finished.set()
        if self._sessions.get(session.port) is session:
            del self._sessions[session.port]

    def track(self, socket: web.WebSocketResponse) -> None:
        self._sockets.add(socket)

    def untrack(self, socket: web.WebSocketResponse) -> None:
        self._sockets.discard(socket)

    async def close_all(self) -> None:
        for socket in list(self._sockets):
            await socket.close()

    def worker(self, session: ConsoleSession) -> Worker:
        async def run(task: TaskContext) -> None:
            try:
                try:
                    await asyncio.wait_for(session.connected.wait(), CONNECT_TIMEOUT)
                except TimeoutError:
                    raise TaskError("connection timed out") from None
                task.log(f"connection from websocket for port {session.port}")
                await session.finished.wait()
            finally:
                self.release(session)

        return run


class WebSocketChannel:
    """A byte stream over websocket messages (binary or text frames)."""

    def __init__(self, socket: web.WebSocketResponse) -> None:
        self._socket = socket
        self._buffer = bytearray()

    async def receive_frame(self) -> bytes:
        message = await self._socket.receive()
        if message.type == WSMsgType.BINARY:
            return message.data
        if message.type == WSMsgType.TEXT:
            return message.data.encode()
        raise ConnectionError("websocket closed")

    async def read_exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            self._buffer.extend(await self.receive_frame())
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    async def write(self, data: bytes) -> None:
        await self._socket.send_bytes(data)
