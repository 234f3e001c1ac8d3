"""Operators' node shells through the console proxy against pvesim's `/nodes/{node}/termproxy`:
the page's ticket relays a shell, and nobody but an operator gets a page or a ticket."""

import re

import pytest
from asgiref.sync import async_to_sync

from apps.access.exceptions import AccessDenied
from apps.access.services import acl_modify
from apps.audit.models import AuditEvent
from apps.clusters.models import Node
from apps.consoles.models import ConsoleTicket
from apps.consoles.services import console_ticket_issue
from tests.consoles.websocket import TIMEOUT, BrowserSide, communicator_for, session_key_of

pytestmark = pytest.mark.django_db(transaction=True)


def _shell_url(cluster, node: str = "pve1") -> str:
    return f"/clusters/{cluster.name}/nodes/{node}/shell/"


def test_an_operators_ticket_relays_the_node_shell(
    operator, operator_client, console_cluster
) -> None:
    page = operator_client.get(_shell_url(console_cluster))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    token = re.search(r'data-token="([^"]+)"', page.content.decode()).group(1)
    ticket = ConsoleTicket.objects.get()
    assert (ticket.node, ticket.guest, ticket.protocol) == ("pve1", None, "term")
    key = session_key_of(operator_client)

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        browser = BrowserSide(communicator)
        assert (await browser.message()).endswith(b"root@pve1:~# ")
        await communicator.send_to(text_data="0:9:uname -a\r")
        output = b""
        while b"6.8.12-4-pve" not in output:
            output += await browser.message()
        assert b"Linux pve1 " in output
        await communicator.send_to(text_data="0:5:exit\r")
        assert await browser.closed() == 1000
        assert b"PVEVNC" not in browser.received

    async_to_sync(scenario)()
    events = AuditEvent.objects.filter(target="/nodes/pve1").order_by("id")
    assert [(e.action, e.actor) for e in events] == [
        ("console.ticket_issued", "op@pve"),
        ("console.opened", "op@pve"),
        ("console.closed", "op@pve"),
    ]
    assert events[0].detail == {"protocol": "term", "ticket": ticket.pk}
    assert events[2].detail["reason"] == "the console ended"


def test_a_tenant_user_cannot_mint_a_node_shell_ticket(
    alice, alice_client, operator_client, console_cluster
) -> None:
    node = Node.objects.get(cluster=console_cluster, name="pve1")
    shell = _shell_url(console_cluster)
    # Even a stray Sys.Console entry does not make a tenant's user an operator.
    acl_modify(path="/nodes/pve1", roles=["PVEAdmin"], users=["alice@pve"])
    assert alice_client.get(shell).status_code == 404
    assert alice_client.post(f"{shell}ticket/").status_code == 404
    with pytest.raises(AccessDenied):
        console_ticket_issue(actor=alice, node=node, session_key=session_key_of(alice_client))
    assert not ConsoleTicket.objects.exists()
    assert not AuditEvent.objects.filter(action="console.ticket_issued").exists()
    # The 404s come from the scoping: the same pages exist for an operator.
    assert operator_client.get(shell).status_code == 200
    assert operator_client.post(f"{shell}ticket/").status_code == 200
    assert operator_client.get(_shell_url(console_cluster, "nosuchnode")).status_code == 404


def test_the_node_admin_page_links_operators_to_the_shell(operator_client, console_cluster) -> None:
    node = Node.objects.get(cluster=console_cluster, name="pve1")
    page = operator_client.get(f"/admin/clusters/node/{node.pk}/change/")
    assert page.status_code == 200
    assert f'href="{_shell_url(console_cluster)}"' in page.content.decode()
