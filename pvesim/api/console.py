"""vncproxy, termproxy and vncwebsocket for qemu and lxc guests, and a node's shell (FACTS §7).

Behaviour follows qemu-server >= 9.1.7: with ``websocket=1`` a VNC password is always generated,
returned as ``password`` and prefixed to the ticket (``<password>:PVEVNC:...``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pvesim.api.guest_common import label
from pvesim.auth import generate_vnc_password
from pvesim.consoles import ConsoleSession, WebSocketChannel
from pvesim.context import RequestContext
from pvesim.errors import PveError, die
from pvesim.params import NODE, VMID, Param, opt
from pvesim.rfb import RfbServer, TextScreen
from pvesim.routes import endpoint
from pvesim.state import Guest
from pvesim.termproxy import FakeShell, parse_client_frame
from pvesim.tls import CERT_NAME

CONSOLE = {"check": ["perm", "/vms/{vmid}", ["VM.Console"]]}
NODE_CONSOLE = {"check": ["perm", "/nodes/{node}", ["Sys.Console"]]}
NODE_SHELL = "node"  # ConsoleSession.kind of a node's shell


def _running_guest(ctx: RequestContext, params: dict[str, Any], kind: str) -> Guest:
    guest = ctx.sim.state.guest(params["node"], kind, params["vmid"])
    if guest.status == "stopped":
        raise die(f"{label(kind)} {guest.vmid} not running")
    return guest


def _session_path(kind: str, node: str, vmid: int) -> str:
    return f"/nodes/{node}" if kind == NODE_SHELL else f"/vms/{vmid}"


def _open_session(
    ctx: RequestContext,
    *,
    node: str,
    kind: str,
    vmid: int,
    mode: str,
    with_password: bool,
) -> dict[str, Any]:
    sim = ctx.sim
    port = sim.consoles.free_port()
    path = _session_path(kind, node, vmid)
    ticket = sim.signer.create_vnc_ticket(ctx.principal, path, port)
    password = generate_vnc_password() if with_password else None
    if password:
        ticket = f"{password}:{ticket}"
    session = ConsoleSession(
        port=port,
        mode=mode,
        node=node,
        kind=kind,
        vmid=vmid,
        path=path,
        user=ctx.principal,
        ticket=ticket,
        password=password or ticket[:8],
    )
    sim.consoles.add(session)
    upid = sim.tasks.start(
        node=node,
        # PVE's node shell runs as a `vncshell` task without an id.
        type_="vncshell" if kind == NODE_SHELL else "vncproxy",
        id_="" if kind == NODE_SHELL else str(vmid),
        user=ctx.task_user,
        worker=sim.consoles.worker(session),
    )
    result: dict[str, Any] = {"user": ctx.principal, "ticket": ticket, "port": port, "upid": upid}
    if mode == "vnc":
        result["cert"] = (sim.settings.data_dir / CERT_NAME).read_text()
    if password:
        result["password"] = password
    return result


def _open_guest_session(
    ctx: RequestContext, guest: Guest, mode: str, *, with_password: bool
) -> dict[str, Any]:
    return _open_session(
        ctx,
        node=guest.node,
        kind=guest.kind,
        vmid=guest.vmid,
        mode=mode,
        with_password=with_password,
    )


@endpoint(
    "POST",
    "/nodes/{node}/qemu/{vmid}/vncproxy",
    params=(
        opt("generate-password", "boolean", default=0),
        NODE,
        VMID,
        opt("websocket", "boolean"),
    ),
    permissions=CONSOLE,
    protected=True,
)
async def qemu_vncproxy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    guest = _running_guest(ctx, params, "qemu")
    with_password = bool(params.get("websocket") or params.get("generate-password"))
    return _open_guest_session(ctx, guest, "vnc", with_password=with_password)


@endpoint(
    "POST",
    "/nodes/{node}/lxc/{vmid}/vncproxy",
    params=(
        opt("height", "integer", minimum=16, maximum=2160),
        NODE,
        VMID,
        opt("websocket", "boolean"),
        opt("width", "integer", minimum=16, maximum=4096),
    ),
    permissions=CONSOLE,
    protected=True,
)
async def lxc_vncproxy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    guest = _running_guest(ctx, params, "lxc")
    return _open_guest_session(ctx, guest, "vnc", with_password=bool(params.get("websocket")))


@endpoint(
    "POST",
    "/nodes/{node}/qemu/{vmid}/termproxy",
    params=(NODE, opt("serial", enum=("serial0", "serial1", "serial2", "serial3")), VMID),
    permissions=CONSOLE,
    protected=True,
)
async def qemu_termproxy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    guest = _running_guest(ctx, params, "qemu")
    serial = params.get("serial", "serial0")
    if serial not in guest.config:
        raise die(f"{serial} is not configured")
    return _open_guest_session(ctx, guest, "term", with_password=False)


@endpoint(
    "POST",
    "/nodes/{node}/lxc/{vmid}/termproxy",
    params=(NODE, VMID),
    permissions=CONSOLE,
    protected=True,
)
async def lxc_termproxy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    guest = _running_guest(ctx, params, "lxc")
    return _open_guest_session(ctx, guest, "term", with_password=False)


@endpoint(
    "POST",
    "/nodes/{node}/termproxy",
    params=(
        opt("cmd", enum=("ceph_install", "login", "upgrade"), default="login"),
        opt("cmd-opts", default=""),
        NODE,
    ),
    permissions=NODE_CONSOLE,
    protected=True,
)
async def node_termproxy(ctx: RequestContext, params: dict[str, Any]) -> Any:
    """The node's shell; commands other than a login are root@pam's, as on PVE."""
    if params.get("cmd", "login") != "login" and ctx.principal != "root@pam":
        raise PveError(403, "Permission check failed (user != root@pam)")
    node = ctx.sim.state.node(params["node"])
    return _open_session(
        ctx, node=node.name, kind=NODE_SHELL, vmid=0, mode="term", with_password=False
    )


def _boot_screen(guest: Guest) -> TextScreen:
    hostname = guest.name.lower().replace(" ", "-")
    lines = [
        "SeaBIOS (version rel-1.16.3-0-ga6ed6b701f0a-prebuilt.qemu.org)",
        "",
        "Booting from Hard Disk...",
        "",
        f"Debian GNU/Linux 12 {hostname} tty1",
        "",
    ]
    return TextScreen(lines, prompt=f"{hostname} login: ")


async def _serve_rfb(socket: web.WebSocketResponse, session: ConsoleSession, guest: Guest) -> None:
    server = RfbServer(
        WebSocketChannel(socket),
        password=session.password or "",
        screen=_boot_screen(guest),
        desktop_name=f"VM {guest.vmid}",
    )
    await server.run()


async def _serve_terminal(
    socket: web.WebSocketResponse, session: ConsoleSession, hostname: str
) -> None:
    channel = WebSocketChannel(socket)
    first = (await channel.receive_frame()).decode(errors="replace")
    user, _, ticket = first.rstrip("\n").partition(":")
    if user != session.user or ticket != session.ticket:
        await socket.close()
        return
    shell = FakeShell(hostname=hostname, vmid=session.vmid)
    await socket.send_bytes(b"OK" + shell.greeting().encode())
    while True:
        kind, payload = parse_client_frame((await channel.receive_frame()).decode(errors="replace"))
        if kind == "input" and isinstance(payload, str):
            output, done = shell.feed(payload)
            if output:
                await socket.send_bytes(output.encode())
            if done:
                await socket.close()
                return
        elif kind == "resize" and isinstance(payload, tuple):
            shell.cols, shell.rows = payload


async def _serve_websocket(
    ctx: RequestContext,
    params: dict[str, Any],
    *,
    kind: str,
    vmid: int,
    serve: Callable[[web.WebSocketResponse, ConsoleSession], Awaitable[None]],
) -> web.StreamResponse:
    """Check the port's session and its ticket, upgrade, and serve the console on it."""
    sim, request = ctx.sim, ctx.request
    assert request is not None
    session = sim.consoles.get(params["port"])
    path = _session_path(kind, params["node"], vmid)
    valid = (
        session is not None
        and not session.used
        and session.path == path
        and session.user == ctx.principal
        and sim.signer.verify_vnc_ticket(params["vncticket"], ctx.principal, path, session.port)
    )
    if not valid or session is None:
        raise PveError(401, "Permission denied - invalid vnc ticket")
    socket = web.WebSocketResponse(protocols=("binary",), max_msg_size=0)
    if not socket.can_prepare(request).ok:
        raise PveError(400, "websocket upgrade required")
    session.used = True
    await socket.prepare(request)
    session.connected.set()
    sim.consoles.track(socket)
    try:
        await serve(socket, session)
    except (ConnectionError, ValueError):
        pass
    finally:
        sim.consoles.untrack(socket)
        sim.consoles.release(session)
        with contextlib.suppress(ConnectionError):
            await socket.close()
    return socket


WEBSOCKET_PARAMS = (
    Param("port", "integer", minimum=5900, maximum=5999),
    Param("vncticket", max_length=512),
)


def _register_websocket(kind: str) -> None:
    @endpoint(
        "GET",
        f"/nodes/{{node}}/{kind}/{{vmid}}/vncwebsocket",
        params=(NODE, *WEBSOCKET_PARAMS, VMID),
        permissions=CONSOLE,
        websocket=True,
    )
    async def vncwebsocket(ctx: RequestContext, params: dict[str, Any]) -> web.StreamResponse:
        guest = ctx.sim.state.guest(params["node"], kind, params["vmid"])

        async def serve(socket: web.WebSocketResponse, session: ConsoleSession) -> None:
            if session.mode == "vnc":
                await _serve_rfb(socket, session, guest)
            else:
                await _serve_terminal(socket, session, guest.name.lower().replace(" ", "-"))

        return await _serve_websocket(ctx, params, kind=kind, vmid=guest.vmid, serve=serve)


for _kind in ("qemu", "lxc"):
    _register_websocket(_kind)


@endpoint(
    "GET",
    "/nodes/{node}/vncwebsocket",
    params=(NODE, *WEBSOCKET_PARAMS),
    permissions=NODE_CONSOLE,
    websocket=True,
)
async def node_vncwebsocket(ctx: RequestContext, params: dict[str, Any]) -> web.StreamResponse:
    node = ctx.sim.state.node(params["node"]).name

    async def serve(socket: web.WebSocketResponse, session: ConsoleSession) -> None:
        await _serve_terminal(socket, session, node)

    return await _serve_websocket(ctx, params, kind=NODE_SHELL, vmid=0, serve=serve)
