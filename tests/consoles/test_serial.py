"""VM serial terminals (PVE's `qemu/{vmid}/termproxy` with `serial`) through the console proxy:
offered on the VM's console page when the VM has a serial port, relayed like a container's."""

import re

import pytest
from asgiref.sync import async_to_sync

from apps.audit.models import AuditEvent
from apps.consoles.models import ConsoleTicket
from tests.consoles.fixtures import wait_for_task
from tests.consoles.websocket import TIMEOUT, BrowserSide, communicator_for, session_key_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_vms_serial_terminal_relays_its_shell(alice, alice_client, running_vm) -> None:
    vnc_page = alice_client.get(f"/guests/{running_vm.vmid}/console/").content.decode()
    serial_url = f"/guests/{running_vm.vmid}/console/serial0/"
    assert f'href="{serial_url}"' in vnc_page  # template 9000 has serial0
    assert "/console/serial1/" not in vnc_page
    page = alice_client.get(serial_url)
    assert page.status_code == 200
    token = re.search(r'data-token="([^"]+)"', page.content.decode()).group(1)
    ticket = ConsoleTicket.objects.get(serial="serial0")
    assert ticket.protocol == "term"
    key = session_key_of(alice_client)

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        assert (await communicator.connect(timeout=TIMEOUT))[0]
        browser = BrowserSide(communicator)
        assert (await browser.message()).endswith(f"root@vm{running_vm.vmid}:~# ".encode())
        await communicator.send_to(text_data="0:9:hostname\r")
        output = b""
        while f"vm{running_vm.vmid}\r\n".encode() not in output:
            output += await browser.message()
        await communicator.disconnect()

    async_to_sync(scenario)()
    issued = AuditEvent.objects.get(action="console.ticket_issued", detail__ticket=ticket.pk)
    assert issued.detail == {"protocol": "term", "ticket": ticket.pk, "serial": "serial0"}
    assert AuditEvent.objects.get(action="console.opened").detail["serial"] == "serial0"
    assert alice_client.post(f"{serial_url}ticket/").status_code == 200


def test_no_serial_terminal_without_a_serial_port(
    alice, alice_client, running_vm, running_ct, pvesim_root
) -> None:
    vm = pvesim_root.nodes("pve1").qemu(running_vm.vmid)
    wait_for_task(pvesim_root, vm.status.stop.post())
    vm.config.put(delete="serial0", vga="std")
    wait_for_task(pvesim_root, vm.status.start.post())
    page = alice_client.get(f"/guests/{running_vm.vmid}/console/").content.decode()
    assert "/console/serial" not in page
    # Containers have none at all; serial ports are serial0..serial3.
    assert alice_client.get(f"/guests/{running_ct.vmid}/console/serial0/").status_code == 404
    assert alice_client.get(f"/guests/{running_vm.vmid}/console/serial4/").status_code == 404
