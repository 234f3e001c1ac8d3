"""Consoles with several web processes and no sticky sessions: two uvicorn processes of the
portal on the test's database and one Redis channel layer. The console page (and so the ticket)
comes from process A, the websocket is opened on process B and relays; a logout through A, or a
revocation made elsewhere, ends the console on B."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from apps.access.services import acl_delete
from apps.audit.models import AuditEvent
from tests.browser.test_portal_live import (  # noqa: F401 - fixture
    redis_channel_layer,
    web_process_env,
)
from tests.conftest import portal_over_uvicorn
from tests.consoles.websocket import TIMEOUT

pytestmark = pytest.mark.django_db(transaction=True)


@dataclass(frozen=True)
class WebProcesses:
    a: str
    b: str


@pytest.fixture
def web_processes(transactional_db, redis_channel_layer) -> Iterator[WebProcesses]:  # noqa: F811
    env = web_process_env(redis_channel_layer)
    with portal_over_uvicorn(env) as a, portal_over_uvicorn(env) as b:
        yield WebProcesses(a=a.removeprefix("http://"), b=b.removeprefix("http://"))


def _signed_in(client) -> requests.Session:
    """A browser's cookie jar holding the session the test client signed in."""
    browser = requests.Session()
    browser.cookies.set("sessionid", client.session.session_key, domain="127.0.0.1")
    return browser


def _console_page(browser: requests.Session, address: str, vmid: int) -> str:
    page = browser.get(f"http://{address}/guests/{vmid}/console/", timeout=TIMEOUT)
    assert page.status_code == 200
    return page.text


def _token(page: str) -> str:
    return re.search(r'data-token="([^"]+)"', page).group(1)


def _open_console(browser: requests.Session, address: str, token: str) -> ClientConnection:
    return connect(
        f"ws://{address}/ws/console/{token}/",
        origin=f"http://{address}",
        additional_headers={"Cookie": f"sessionid={browser.cookies['sessionid']}"},
        subprotocols=["binary"],
        open_timeout=TIMEOUT,
    )


def _read_until(console: ClientConnection, expected: bytes) -> bytes:
    received = b""
    while expected not in received:
        message = console.recv(timeout=TIMEOUT)
        received += message if isinstance(message, bytes) else message.encode()
    return received


def _close_code(console: ClientConnection) -> int:
    """Read on until the portal closes the console; its close code."""
    try:
        while True:
            console.recv(timeout=TIMEOUT)
    except ConnectionClosed as closed:
        return closed.rcvd.code


def _running_shell(console: ClientConnection, vmid: int) -> None:
    """The container's shell answers through process B's relay."""
    _read_until(console, f"root@ct{vmid}:~# ".encode())
    console.send("0:9:uname -a\r")
    _read_until(console, b"6.8.12-4-pve")


def _closed_reason(acl_path: str) -> str:
    (closed,) = AuditEvent.objects.filter(action="console.closed", target=acl_path)
    return closed.detail["reason"]


def test_a_ticket_from_one_process_opens_on_another_and_logout_there_ends_it(
    web_processes, alice, alice_client, running_ct
) -> None:
    browser = _signed_in(alice_client)
    page = _console_page(browser, web_processes.a, running_ct.vmid)
    with _open_console(browser, web_processes.b, _token(page)) as console:
        _running_shell(console, running_ct.vmid)

        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        signed_out = browser.post(
            f"http://{web_processes.a}/accounts/logout/",
            headers={"X-CSRFToken": csrf},
            allow_redirects=False,
            timeout=TIMEOUT,
        )
        assert signed_out.status_code == 302

        assert _close_code(console) == 4403
    assert _closed_reason(running_ct.acl_path) == "signed out"


def test_a_revocation_made_elsewhere_ends_a_console_relayed_by_another_process(
    web_processes, alice, alice_client, running_ct, tenant
) -> None:
    browser = _signed_in(alice_client)
    token = _token(_console_page(browser, web_processes.a, running_ct.vmid))
    with _open_console(browser, web_processes.b, token) as console:
        _running_shell(console, running_ct.vmid)

        # This test's process plays a third one (a worker, another web process): it revokes,
        # and process B learns of it only over Redis and the shared access-model version.
        acl_delete(path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=["alice@pve"])

        assert _close_code(console) == 4403
    assert _closed_reason(running_ct.acl_path) == "the console privilege was revoked"
