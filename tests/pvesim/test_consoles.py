"""Console tickets and websockets: binding, single use, wrong passwords, termproxy framing."""

from __future__ import annotations

import ssl
import time
import urllib.parse
from pathlib import Path

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from pvesim.rfb import PixelFormat, TextScreen, encode_frame, vnc_des_key, vnc_encrypt_challenge
from pvesim.termproxy import FakeShell, parse_client_frame
from tests.pvesim.pvesim_client import RawClient
from tests.pvesim.rfb_client import RfbSession, vnc_response
from tests.pvesim_server import PvesimServer

NODE = "pve1"


def _run(client: RawClient, response: requests.Response) -> None:
    upid = response.json()["data"]
    for _ in range(2000):
        status = client.get(f"/nodes/{NODE}/tasks/{upid}/status").json()["data"]
        if status["status"] == "stopped":
            assert status["exitstatus"] == "OK"
            return
        time.sleep(0.01)
    raise AssertionError(upid)


@pytest.fixture(scope="module")
def running_vm(root: RawClient) -> int:
    vmid = int(root.get("/cluster/nextid").json()["data"])
    _run(root, root.post(f"/nodes/{NODE}/qemu/9000/clone", data={"newid": vmid, "name": "console"}))
    _run(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/status/start"))
    return vmid


def _open(
    server: PvesimServer,
    ca_file: Path,
    client: RawClient,
    kind: str | None,
    vmid: int | None,
    port: int,
    ticket: str,
) -> ClientConnection:
    """The vncwebsocket of a guest, or (kind None) of the node's shell."""
    query = urllib.parse.urlencode({"port": port, "vncticket": ticket})
    below = f"nodes/{NODE}" if kind is None else f"nodes/{NODE}/{kind}/{vmid}"
    url = f"wss://{server.host}:{server.port}/api2/json/{below}/vncwebsocket?{query}"
    cookie = f"PVEAuthCookie={urllib.parse.quote(client.session.cookies['PVEAuthCookie'], safe='')}"
    return connect(
        url,
        ssl=ssl.create_default_context(cafile=str(ca_file)),
        subprotocols=["binary"],
        additional_headers={"Cookie": cookie},
        open_timeout=10,
        max_size=None,
    )


def _drain(socket: ClientConnection) -> None:
    while True:
        socket.recv(timeout=10)


def test_vnc_tickets_are_single_use_and_bound(
    pvesim: PvesimServer, ca_file: Path, root: RawClient, running_vm: int
) -> None:
    proxy = root.post(f"/nodes/{NODE}/qemu/{running_vm}/vncproxy", data={"websocket": 1}).json()[
        "data"
    ]
    assert 5900 <= proxy["port"] <= 5999
    assert proxy["cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert len(proxy["password"]) == 8
    with pytest.raises(InvalidStatus) as wrong_vm:
        _open(pvesim, ca_file, root, "qemu", 9000, proxy["port"], proxy["ticket"])
    assert wrong_vm.value.response.status_code == 401
    forged = proxy["ticket"][:-4] + "AAA="
    with pytest.raises(InvalidStatus) as forged_ticket:
        _open(pvesim, ca_file, root, "qemu", running_vm, proxy["port"], forged)
    assert forged_ticket.value.response.status_code == 401
    with _open(pvesim, ca_file, root, "qemu", running_vm, proxy["port"], proxy["ticket"]) as socket:
        assert RfbSession(socket).handshake("wrong-pw") == 1  # VNC authentication failed
    with pytest.raises(InvalidStatus) as reused:
        _open(pvesim, ca_file, root, "qemu", running_vm, proxy["port"], proxy["ticket"])
    assert reused.value.response.status_code == 401


def test_console_needs_a_running_guest(root: RawClient) -> None:
    response = root.post(f"/nodes/{NODE}/qemu/9000/vncproxy", data={"websocket": 1})
    assert (response.status_code, response.reason) == (500, "VM 9000 not running")


def test_qemu_serial_termproxy_and_lxc_vnc(
    pvesim: PvesimServer, ca_file: Path, root: RawClient, running_vm: int
) -> None:
    term = root.post(f"/nodes/{NODE}/qemu/{running_vm}/termproxy").json()["data"]
    assert "password" not in term
    with _open(pvesim, ca_file, root, "qemu", running_vm, term["port"], term["ticket"]) as socket:
        socket.send(f"root@pam:{term['ticket']}\n".encode())
        greeting = socket.recv(timeout=10)
        assert greeting.startswith(b"OK")
        assert greeting.endswith(b"root@console:~# ")
        socket.send(b"1:120:40:")
        socket.send(b"2")
        socket.send(b"0:5:stty\r")
        output = b""
        while b"columns 120" not in output:
            output += socket.recv(timeout=10)
        socket.send(b"0:5:exit\r")
        with pytest.raises(ConnectionClosed):  # the session ends with the shell
            _drain(socket)

    ctid = int(root.get("/cluster/nextid").json()["data"])
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/lxc",
            data={
                "vmid": ctid,
                "unprivileged": 1,
                "start": 1,
                "ostemplate": "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
            },
        ),
    )
    proxy = root.post(f"/nodes/{NODE}/lxc/{ctid}/vncproxy", data={"websocket": 1}).json()["data"]
    with _open(pvesim, ca_file, root, "lxc", ctid, proxy["port"], proxy["ticket"]) as socket:
        session = RfbSession(socket)
        assert session.handshake(proxy["password"]) == 0
        assert session.name == f"VM {ctid}".encode()


def test_node_shell_termproxy_is_bound_to_the_node(
    pvesim: PvesimServer, ca_file: Path, root: RawClient, running_vm: int
) -> None:
    shell = root.post(f"/nodes/{NODE}/termproxy").json()["data"]
    assert set(shell) == {"user", "ticket", "port", "upid"}
    assert shell["upid"].split(":")[5:7] == ["vncshell", ""]
    with pytest.raises(InvalidStatus) as on_a_guest:  # a node's ticket is not a guest's
        _open(pvesim, ca_file, root, "qemu", running_vm, shell["port"], shell["ticket"])
    assert on_a_guest.value.response.status_code == 401
    with _open(pvesim, ca_file, root, None, None, shell["port"], shell["ticket"]) as socket:
        socket.send(f"root@pam:{shell['ticket']}\n".encode())
        assert socket.recv(timeout=10).endswith(f"root@{NODE}:~# ".encode())
        socket.send(b"0:9:uname -a\r")
        output = b""
        while b"6.8.12-4-pve" not in output:
            output += socket.recv(timeout=10)
        assert f"Linux {NODE} ".encode() in output
        socket.send(b"0:5:exit\r")
        with pytest.raises(ConnectionClosed):
            _drain(socket)
    assert root.post("/nodes/nosuchnode/termproxy").status_code == 500


def test_node_shell_needs_sys_console(root: RawClient, pvesim: PvesimServer, ca_file: Path) -> None:
    root.post("/access/users", data={"userid": "shell@pve", "password": "shell-pw-1234"})
    root.put("/access/acl", data={"path": "/", "roles": "PVEVMAdmin", "users": "shell@pve"})
    user = RawClient(pvesim, ca_file)
    user.login("shell@pve", "shell-pw-1234")
    assert user.post(f"/nodes/{NODE}/termproxy").status_code == 403
    root.put(
        "/access/acl", data={"path": f"/nodes/{NODE}", "roles": "PVEAdmin", "users": "shell@pve"}
    )
    assert user.post(f"/nodes/{NODE}/termproxy").status_code == 200
    refused = user.post(f"/nodes/{NODE}/termproxy", data={"cmd": "upgrade"})
    assert refused.status_code == 403  # commands other than login are root@pam's


def test_fake_shell_and_frame_parsing() -> None:
    assert parse_client_frame("0:3:abc") == ("input", "abc")
    assert parse_client_frame("0:4:h\u00e9") == ("input", "h\u00e9")  # length counts UTF-8 bytes
    assert parse_client_frame("1:80:24:") == ("resize", (80, 24))
    assert parse_client_frame("2") == ("ping", None)
    with pytest.raises(ValueError, match="unknown termproxy frame"):
        parse_client_frame("9")
    shell = FakeShell(hostname="box", vmid=100)
    output, done = shell.feed("ech\x7fho hi\r")
    assert output == "ech\b \bho hi\r\nhi\r\nroot@box:~# "
    assert not done
    assert shell.feed("frobnicate\r")[0].startswith(
        "frobnicate\r\n-bash: frobnicate: command not found"
    )
    assert shell.feed("exit\r") == ("exit\r\nlogout\r\n", True)


def test_rfb_pixel_formats_and_des_key() -> None:
    assert vnc_des_key("pw") == bytes([0x0E, 0xEE]) + bytes(6)  # 'p'=0x70, 'w'=0x77 reversed
    # The classic DES vector (key 133457799BBCDFF1, 0123456789ABCDEF -> 85E813540F0AB405),
    # with the password chosen so that its bit-reversed bytes are that key.
    password = bytes([0xC8, 0x2C, 0xEA, 0x9E, 0xD9, 0x3D, 0xFB, 0x8F]).decode("latin-1")
    block = bytes.fromhex("0123456789ABCDEF")
    assert vnc_encrypt_challenge(password, block * 2) == bytes.fromhex("85E813540F0AB405") * 2
    challenge = bytes(range(16))
    assert vnc_encrypt_challenge("secret12", challenge) == vnc_response("secret12", challenge)
    assert vnc_encrypt_challenge("secret123", challenge) == vnc_response("secret12", challenge)
    rgb565 = PixelFormat(16, 16, False, True, 31, 63, 31, 11, 5, 0)
    frame = encode_frame(bytes([0, 1]), rgb565)
    assert frame == bytes([0, 0]) + (
        ((0xC0 * 31 // 255) << 11) | ((0xC0 * 63 // 255) << 5) | (0xC0 * 31 // 255)
    ).to_bytes(2, "little")
    screen = TextScreen(["hello"], prompt="> ")
    assert screen.lines == ["hello", "> "]
    assert screen.type_key(ord("a"))
    assert not screen.type_key(0xFFE1)  # shift alone changes nothing
    assert screen.type_key(0xFF08)
    assert len(screen.render()) == 640 * 400
