"""Consoles in Chromium: noVNC and xterm.js through the portal's proxy to pvesim, served by a
real ASGI server (websockets), and nothing of PVE's in the page's network traffic; a VM's serial
terminal, and an operator's node shell opened from the node's back-office page."""

import contextlib
import struct
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from django.db import connections
from playwright.sync_api import Error, Page, expect

from apps.clusters.models import Node
from tests.browser.test_login import sign_in
from tests.browser.waiting import wait_until
from tests.consoles.fixtures import (  # noqa: F401 - fixtures
    ALICE_PASSWORD,
    OPERATOR_PASSWORD,
    alice,
    console_cluster,
    operator,
    running_ct,
    running_vm,
    tenant,
)
from tests.services.network import free_port

pytestmark = pytest.mark.django_db(transaction=True)

# Sum of the canvas' pixel values, or -1 before noVNC has drawn anything.
CANVAS_SIGNATURE = """() => {
  const canvas = document.querySelector('#console-screen canvas');
  if (!canvas || !canvas.width) return -1;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let sum = 0;
  for (let i = 0; i < data.length; i += 4) sum += data[i] + data[i + 1] + data[i + 2];
  return sum;
}"""
CANVAS_SHOWN_WIDTH = (
    "document.querySelector('#console-screen canvas').getBoundingClientRect().width"
)
FRAMEBUFFER_WIDTH = 640  # pvesim's VGA text console
CONTROL_L, ALT_L, DELETE = 0xFFE3, 0xFFE9, 0xFFFF


def key_events(*events: tuple[int, bool]) -> bytes:
    """RFB KeyEvent messages, as noVNC sends them."""
    return b"".join(struct.pack(">BBxxI", 4, int(down), keysym) for keysym, down in events)


@pytest.fixture
def asgi_live_server(transactional_db, monkeypatch) -> Iterator[str]:
    """The portal's ASGI application (HTTP and websockets) on uvicorn, in this process: it
    shares the test database and the in-memory channel layer."""
    from portal.asgi import application

    # The server's threads close their connections after each request and database call, so
    # none is left open when the test database is dropped (the dict is every thread's).
    monkeypatch.setitem(connections["default"].settings_dict, "CONN_MAX_AGE", 0)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            application, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


class NetworkLog:
    """Everything the page sent and received: URLs, headers, bodies, websocket frames."""

    def __init__(self, page: Page) -> None:
        self.chunks: list[str] = []
        self.websocket_sent = bytearray()
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("websocket", self._websocket)

    def _request(self, request) -> None:
        self.chunks += [request.url, str(request.headers), request.post_data or ""]

    def _response(self, response) -> None:
        self.chunks += [response.url, str(response.headers)]
        if "text" in response.headers.get("content-type", "") or "json" in response.headers.get(
            "content-type", ""
        ):
            # A redirect or an aborted response has no body.
            with contextlib.suppress(Error):
                self.chunks.append(response.text())

    def _websocket(self, socket) -> None:
        self.chunks.append(socket.url)
        socket.on("framereceived", self._frame)
        socket.on("framesent", self._frame)
        socket.on("framesent", self._sent)

    def _frame(self, payload) -> None:
        self.chunks.append(
            payload.decode("latin-1") if isinstance(payload, bytes) else str(payload)
        )

    def _sent(self, payload) -> None:
        self.websocket_sent += payload if isinstance(payload, bytes) else payload.encode()

    def text(self) -> str:
        return "\n".join(self.chunks)


def test_vm_and_container_consoles(
    page: Page,
    asgi_live_server: str,
    alice,  # noqa: F811 - the fixture imported above
    running_vm,  # noqa: F811
    running_ct,  # noqa: F811
    console_cluster,  # noqa: F811
    pvesim,
) -> None:
    network = NetworkLog(page)
    sign_in(page, asgi_live_server, username="alice", realm="pve", password=ALICE_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # The VM: noVNC shows the guest's screen, and typing changes it.
    page.goto(f"{asgi_live_server}/guests/{running_vm.vmid}/console/")
    status = page.locator("#console-status")
    expect(status).to_have_attribute("data-state", "connected")
    wait_until(page, f"({CANVAS_SIGNATURE})() > 0")
    before = page.evaluate(CANVAS_SIGNATURE)
    page.locator("#console-screen canvas").click()
    page.keyboard.type("root")
    wait_until(page, f"({CANVAS_SIGNATURE})() !== {before}")
    # Paste text types into the guest too.
    typed = page.evaluate(CANVAS_SIGNATURE)
    page.get_by_placeholder("Text to type into the console").fill("pw")
    page.get_by_role("button", name="Paste text").click()
    wait_until(page, f"({CANVAS_SIGNATURE})() !== {typed}")
    expect(page.get_by_role("button", name="Reconnect")).to_be_hidden()

    # Ctrl-Alt-Del: the chord goes out as noVNC's key events and the guest restarts (pvesim
    # shows it only for Delete pressed while Ctrl and Alt are held).
    pasted = page.evaluate(CANVAS_SIGNATURE)
    sent_before = len(network.websocket_sent)
    page.get_by_role("button", name="Ctrl-Alt-Del").click()
    wait_until(page, f"({CANVAS_SIGNATURE})() !== {pasted}")
    chord = key_events(
        (CONTROL_L, True),
        (ALT_L, True),
        (DELETE, True),
        (DELETE, False),
        (ALT_L, False),
        (CONTROL_L, False),
    )
    assert chord in network.websocket_sent[sent_before:]

    # Fullscreen shows the console alone, scaled to the whole screen; the browser's own way out
    # (Esc) ends it, as the page's button is not shown then.
    scaled_width = page.evaluate(CANVAS_SHOWN_WIDTH)
    assert scaled_width > FRAMEBUFFER_WIDTH  # scaled to fit the page by default
    page.get_by_role("button", name="Fullscreen").click()
    wait_until(page, "document.fullscreenElement?.id === 'console-screen'")
    wait_until(page, f"{CANVAS_SHOWN_WIDTH} > {scaled_width}")
    page.evaluate("document.exitFullscreen()")
    wait_until(page, "document.fullscreenElement === null")
    wait_until(page, f"{CANVAS_SHOWN_WIDTH} === {scaled_width}")

    # Scale to fit, turned off: the guest's screen at its own size; on again: scaled.
    scale = page.get_by_role("button", name="Scale to fit")
    scale.click()
    expect(scale).to_have_attribute("aria-pressed", "false")
    wait_until(page, f"{CANVAS_SHOWN_WIDTH} === {FRAMEBUFFER_WIDTH}")
    scale.click()
    expect(scale).to_have_attribute("aria-pressed", "true")
    wait_until(page, f"{CANVAS_SHOWN_WIDTH} === {scaled_width}")

    # The VM's serial terminal, offered as it has serial0: xterm.js runs a command.
    page.get_by_role("link", name="Serial console (serial0)").click()
    expect(status).to_have_attribute("data-state", "connected")
    rows = page.locator("#console-screen .xterm-rows")
    expect(rows).to_contain_text(f"root@vm{running_vm.vmid}:~#")
    page.locator("#console-screen").click()
    page.keyboard.type("uname -a\n")
    expect(rows).to_contain_text(f"Linux vm{running_vm.vmid} 6.8.12-4-pve")

    # The container: xterm.js runs a command and shows its output.
    page.goto(f"{asgi_live_server}/guests/{running_ct.vmid}/console/")
    expect(status).to_have_attribute("data-state", "connected")
    rows = page.locator("#console-screen .xterm-rows")
    expect(rows).to_contain_text(f"root@ct{running_ct.vmid}:~#")
    page.locator("#console-screen").click()
    page.keyboard.type("uname -a\n")
    expect(rows).to_contain_text("6.8.12-4-pve")
    # xterm.js's size reached termproxy.
    page.keyboard.type("stty\n")
    shown = page.evaluate("document.querySelector('#console-screen .xterm-rows').children.length")
    assert shown != 24  # termproxy's own default: the resize must have come from the page
    expect(rows).to_contain_text(f"rows {shown};")

    # The shell ends; a reconnect mints a new ticket and opens a new console.
    page.keyboard.type("exit\n")
    expect(status).to_have_attribute("data-state", "disconnected")
    page.get_by_role("button", name="Reconnect").click()
    expect(status).to_have_attribute("data-state", "connected")

    log = network.text()
    assert "/ws/console/" in log
    assert "RFB 003.008" in log  # the websocket frames are in the log
    for secret in (
        "PVEVNC",
        "PVEAuthCookie",
        "PVEAPIToken",
        console_cluster.token_secret,
        console_cluster.token_id,
        f"{pvesim.host}:{pvesim.port}",
        "vncticket",
        "/api2/",
    ):
        assert secret not in log, secret


def test_operator_node_shell(
    page: Page,
    asgi_live_server: str,
    operator,  # noqa: F811
    console_cluster,  # noqa: F811
) -> None:
    node = Node.objects.get(cluster=console_cluster, name="pve1")
    sign_in(page, asgi_live_server, username="op", realm="pve", password=OPERATOR_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.goto(f"{asgi_live_server}/admin/clusters/node/{node.pk}/change/")
    page.get_by_role("link", name="Open shell").click()
    heading = page.get_by_role("heading", name=f"Shell of node pve1 ({console_cluster.name})")
    expect(heading).to_be_visible()
    expect(page.locator("#console-status")).to_have_attribute("data-state", "connected")
    rows = page.locator("#console-screen .xterm-rows")
    expect(rows).to_contain_text("root@pve1:~#")
    page.locator("#console-screen").click()
    page.keyboard.type("uname -a\n")
    expect(rows).to_contain_text("Linux pve1 6.8.12-4-pve")
