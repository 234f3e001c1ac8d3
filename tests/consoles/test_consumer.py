"""The console proxy against pvesim, through the real ASGI stack (origin check, sessions):
a browser-side RFB session and a termproxy session relayed end to end, refused tokens, and
consoles that end on revocation, logout, deletion and idleness."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.test import Client
from django.utils import timezone

from apps.access.services import acl_delete
from apps.audit.models import AuditEvent
from apps.consoles.models import ConsoleTicket
from apps.consoles.services import console_ticket_issue
from apps.guests.models import Guest
from tests.consoles.fixtures import wait_for_task
from tests.consoles.websocket import (
    TIMEOUT,
    BrowserSide,
    Closed,
    communicator_for,
    session_key_of,
)

pytestmark = pytest.mark.django_db(transaction=True)

KEY_A = 0x61


def _issue(user, guest: Guest, session_key: str) -> str:
    return console_ticket_issue(actor=user, guest=guest, session_key=session_key).token


def _audit(action: str, target: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, target=target).order_by("id"))


def test_console_page_token_relays_a_full_rfb_session(alice, alice_client, running_vm) -> None:
    page = alice_client.get(f"/guests/{running_vm.vmid}/console/")
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    token = re.search(r'data-token="([^"]+)"', page.content.decode()).group(1)
    stored = ConsoleTicket.objects.get()
    assert token not in (stored.token_hash, stored.session_key_hash)
    key = session_key_of(alice_client)

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        connected, subprotocol = await communicator.connect(timeout=TIMEOUT)
        assert (connected, subprotocol) == (True, "binary")
        browser = BrowserSide(communicator)
        width, height, name = await browser.rfb_handshake()
        assert (width, height, name) == (640, 400, f"VM {running_vm.vmid}".encode())
        await browser.request_frame(width, height, incremental=False)
        first = await browser.read_frame()
        assert len(first) == width * height * 4
        assert first.count(b"\xc0\xc0\xc0\x00") > 0  # text on the guest's screen
        await browser.request_frame(width, height, incremental=True)
        await browser.press(KEY_A)
        second = await browser.read_frame()
        assert second != first  # the key reached the guest and its screen changed
        assert b"PVEVNC" not in browser.received
        await communicator.disconnect()

    async_to_sync(scenario)()
    opened = _audit("console.opened", running_vm.acl_path)
    closed = _audit("console.closed", running_vm.acl_path)
    assert [event.actor for event in opened + closed] == ["alice@pve", "alice@pve"]
    assert closed[0].detail["bytes_to_browser"] > 2 * 640 * 400 * 4
    assert closed[0].detail["bytes_from_browser"] > 0
    assert closed[0].detail["duration_seconds"] >= 0
    assert closed[0].detail["protocol"] == "vnc"


def test_reused_expired_foreign_and_wrong_origin_tokens_are_refused(
    alice, alice_client, running_vm
) -> None:
    key = session_key_of(alice_client)
    other = Client()
    other.force_login(alice)
    other_key = session_key_of(other)
    fresh = _issue(alice, running_vm, key)
    expired = _issue(alice, running_vm, key)
    ConsoleTicket.objects.filter(redeemed_at=None).exclude(
        pk=ConsoleTicket.objects.order_by("pk").first().pk
    ).update(expires_at=timezone.now() - timedelta(seconds=1))
    foreign = _issue(alice, running_vm, other_key)

    async def refused(token: str, session_key: str, **kwargs) -> bool:
        communicator = communicator_for(token, session_key, **kwargs)
        connected, _code = await communicator.connect(timeout=TIMEOUT)
        if connected:
            await communicator.disconnect()
        return not connected

    async def opens(token: str, session_key: str) -> bool:
        communicator = communicator_for(token, session_key)
        connected, _ = await communicator.connect(timeout=TIMEOUT)
        if connected:
            browser = BrowserSide(communicator)
            await browser.rfb_handshake()
            await communicator.disconnect()
        return connected

    async def scenario() -> None:
        # Wrong origin: refused before the token is looked at, so it stays usable.
        assert await refused(fresh, key, origin=b"https://evil.example")
        # Another session of the same user cannot use it either.
        assert await refused(fresh, other_key)
        assert await opens(fresh, key)
        assert await refused(fresh, key)  # used
        assert await refused(expired, key)
        assert await refused(foreign, key)  # minted for the other session
        assert await refused("not-a-token", key)

    async_to_sync(scenario)()
    assert len(_audit("console.opened", running_vm.acl_path)) == 1


def test_revoking_the_privilege_closes_an_open_console(alice, alice_client, running_vm, tenant):
    key = session_key_of(alice_client)
    token = _issue(alice, running_vm, key)

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        browser = BrowserSide(communicator)
        width, height, _name = await browser.rfb_handshake()
        await browser.request_frame(width, height, incremental=False)
        await browser.read_frame()
        await database_sync_to_async(acl_delete)(
            path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=["alice@pve"]
        )
        assert await browser.closed() == 4403

    async_to_sync(scenario)()
    (closed,) = _audit("console.closed", running_vm.acl_path)
    assert closed.detail["reason"] == "the console privilege was revoked"


def test_logout_and_guest_deletion_close_open_consoles(
    alice, alice_client, running_vm, running_ct
) -> None:
    key = session_key_of(alice_client)
    vm_token, ct_token = _issue(alice, running_vm, key), _issue(alice, running_ct, key)

    async def scenario() -> None:
        vm = communicator_for(vm_token, key)
        assert (await vm.connect(timeout=TIMEOUT))[0]
        await BrowserSide(vm).rfb_handshake()
        ct = communicator_for(ct_token, key)
        assert (await ct.connect(timeout=TIMEOUT))[0]
        ct_browser = BrowserSide(ct)
        await ct_browser.message()  # the shell's greeting: relaying
        await database_sync_to_async(Guest.objects.filter(pk=running_ct.pk).delete)()
        assert await ct_browser.closed() == 4403
        await database_sync_to_async(alice_client.logout)()
        assert await BrowserSide(vm).closed() == 4403

    async_to_sync(scenario)()
    reasons = [e.detail["reason"] for e in AuditEvent.objects.filter(action="console.closed")]
    assert sorted(reasons) == ["signed out", "the guest was deleted"]


def test_termproxy_round_trip_for_a_container(alice, alice_client, running_ct) -> None:
    key = session_key_of(alice_client)
    token = _issue(alice, running_ct, key)

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        browser = BrowserSide(communicator)
        greeting = await browser.message()
        # PVE's OK and everything before it stay with the proxy.
        assert greeting.startswith(b"\r\nDebian GNU/Linux 12")
        assert greeting.endswith(f"root@ct{running_ct.vmid}:~# ".encode())
        await communicator.send_to(text_data="1:132:43:")  # xterm.js resize
        await communicator.send_to(text_data="2")  # keep-alive
        await communicator.send_to(text_data="not a termproxy frame")  # dropped
        await communicator.send_to(text_data="0:5:stty\r")
        output = b""
        while b"columns 132" not in output:
            output += await browser.message()
        assert b"rows 43" in output
        await communicator.send_to(text_data="0:5:exit\r")
        assert await browser.closed() == 1000  # the shell ended the console
        assert b"PVEVNC" not in browser.received

    async_to_sync(scenario)()
    (closed,) = _audit("console.closed", running_ct.acl_path)
    assert closed.detail["protocol"] == "term"
    assert closed.detail["reason"] == "the console ended"


def test_idle_consoles_end(alice, alice_client, running_ct, settings) -> None:
    settings.CONSOLE_IDLE_SECONDS = 0.2
    key = session_key_of(alice_client)
    token = _issue(alice, running_ct, key)

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        assert await BrowserSide(communicator).closed() == 4408

    async_to_sync(scenario)()
    (closed,) = _audit("console.closed", running_ct.acl_path)
    assert closed.detail["reason"] == "the console was idle too long"


def test_busy_consoles_end_at_their_maximum_length(
    alice, alice_client, running_ct, settings
) -> None:
    # Open longer than the idle timeout: only the input kept it open that long.
    settings.CONSOLE_IDLE_SECONDS, settings.CONSOLE_MAX_SECONDS = 2.0, 3.0
    key = session_key_of(alice_client)
    token = _issue(alice, running_ct, key)

    async def scenario() -> int | None:
        communicator = communicator_for(token, key)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        browser = BrowserSide(communicator)
        await browser.message()  # the shell's greeting: relaying
        # Typing without pause, each key echoed before the next.
        while True:
            await communicator.send_to(text_data="0:1:x")
            echoed_from = len(browser.received)
            try:
                while b"x" not in browser.received[echoed_from:]:
                    await browser.message()
            except Closed as closed:
                return closed.code

    assert async_to_sync(scenario)() == 4408
    (closed,) = _audit("console.closed", running_ct.acl_path)
    assert closed.detail["reason"] == "the console reached its maximum length"
    assert closed.detail["duration_seconds"] >= 3.0


def test_no_console_opens_while_the_channel_layer_is_down(
    alice, alice_client, running_ct, settings
) -> None:
    """Redis restarting: a console that could not be told of a revocation or a logout would
    outlive them, so it does not open; the browser is told to try again."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }
    key = session_key_of(alice_client)
    token = _issue(alice, running_ct, key)

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        connected, code = await communicator.connect(timeout=TIMEOUT)
        assert (connected, code) == (False, 1013)
        await communicator.wait(timeout=TIMEOUT)  # the consumer ends without an error

    async_to_sync(scenario)()
    (closed,) = _audit("console.closed", running_ct.acl_path)
    assert closed.detail["reason"] == "the channel layer is unreachable"


def test_issuing_needs_vm_console(alice, alice_client, running_vm, tenant) -> None:
    acl_delete(path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=["alice@pve"])
    from apps.access.services import acl_modify

    # VM.Audit without VM.Console: the guest is visible, its console is not.
    acl_modify(path=f"/pool/{tenant.slug}", roles=["PVEAuditor"], users=["alice@pve"])
    assert alice_client.get(f"/guests/{running_vm.vmid}/console/").status_code == 403
    assert alice_client.post(f"/guests/{running_vm.vmid}/console/ticket/").status_code == 403
    acl_delete(path=f"/pool/{tenant.slug}", roles=["PVEAuditor"], users=["alice@pve"])
    assert alice_client.get(f"/guests/{running_vm.vmid}/console/").status_code == 404
    assert not ConsoleTicket.objects.exists()


def test_pve_refusing_the_console_closes_with_its_reason(
    alice, alice_client, running_vm, pvesim_root
) -> None:
    wait_for_task(pvesim_root, pvesim_root.nodes("pve1").qemu(running_vm.vmid).status.stop.post())
    key = session_key_of(alice_client)
    token = _issue(alice, running_vm, key)

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        output = await communicator.receive_output(timeout=TIMEOUT)
        assert output["type"] == "websocket.close"
        assert output["code"] == 4502
        assert output["reason"] == f"PVE: VM {running_vm.vmid} not running"

    async_to_sync(scenario)()
    (closed,) = _audit("console.closed", running_vm.acl_path)
    assert closed.detail["bytes_to_browser"] == 0
