"""The portal's whole journey against pvesim with proxmoxer over pinned HTTPS."""

from __future__ import annotations

import ssl
import urllib.parse
from pathlib import Path

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException
from websockets.sync.client import ClientConnection, connect

from tests.pvesim.pvesim_client import root_api, token_api, wait_ok, wait_task
from tests.pvesim.rfb_client import RfbSession
from tests.pvesim_server import PvesimServer

NODE = "pve1"
TEMPLATE = 9000


def _websocket(
    server: PvesimServer, ca_file: Path, path: str, port: int, ticket: str, auth: str
) -> ClientConnection:
    context = ssl.create_default_context(cafile=str(ca_file))
    query = urllib.parse.urlencode({"port": port, "vncticket": ticket})
    url = f"wss://{server.host}:{server.port}/api2/json{path}?{query}"
    return connect(
        url,
        ssl=context,
        subprotocols=["binary"],
        additional_headers={"Authorization": auth},
        open_timeout=10,
        max_size=None,
    )


def test_portal_journey(pvesim: PvesimServer, ca_file: Path) -> None:
    root = root_api(pvesim, ca_file)

    # An API token for the portal (privilege separation off: the token acts as root).
    created = root.access.users("root@pam").token("portal").post(privsep=0, comment="e2e")
    assert created["full-tokenid"] == "root@pam!portal"
    api = token_api(pvesim, ca_file, "root@pam!portal", created["value"])
    auth = f"PVEAPIToken=root@pam!portal={created['value']}"

    # Clone a VM from the cloud-init template and wait for the task.
    vmid = int(api.cluster.nextid.get())
    upid = api.nodes(NODE).qemu(TEMPLATE).clone.post(newid=vmid, name="e2e-vm", full=0)
    assert upid.startswith(f"UPID:{NODE}:")
    assert f":qmclone:{TEMPLATE}:root@pam!portal:" in upid
    wait_ok(api, upid)
    config = api.nodes(NODE).qemu(vmid).config.get()
    assert config["name"] == "e2e-vm"
    assert config["scsi0"].startswith(f"shared-nfs:9000/base-9000-disk-0.qcow2/{vmid}/")
    assert "lock" not in config

    # Start it and read its status.
    wait_ok(api, api.nodes(NODE).qemu(vmid).status.start.post())
    status = api.nodes(NODE).qemu(vmid).status.current.get()
    assert status["status"] == "running"
    assert status["qmpstatus"] == "running"

    # noVNC: vncproxy + vncwebsocket, RFB handshake with the returned password, one frame.
    proxy = api.nodes(NODE).qemu(vmid).vncproxy.post(websocket=1)
    assert proxy["ticket"].startswith(proxy["password"] + ":PVEVNC:")
    with _websocket(
        pvesim,
        ca_file,
        f"/nodes/{NODE}/qemu/{vmid}/vncwebsocket",
        proxy["port"],
        proxy["ticket"],
        auth,
    ) as connection:
        assert connection.subprotocol == "binary"
        rfb = RfbSession(connection)
        assert rfb.handshake(proxy["password"]) == 0
        assert (rfb.width, rfb.height) == (640, 400)
        rfb.request_frame(incremental=False)
        first = rfb.read_frame()
        assert len(first) == 640 * 400 * 4
        assert any(first)
        rfb.request_frame(incremental=True)
        rfb.press_key(ord("x"))
        assert rfb.read_frame() != first  # the typed key shows up on the console
    wait_ok(api, proxy["upid"])

    # xterm.js on a container: termproxy protocol and the fake shell.
    ctid = int(api.cluster.nextid.get())
    wait_ok(
        api,
        api.nodes(NODE).lxc.post(
            vmid=ctid,
            ostemplate="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
            hostname="e2e-ct",
            rootfs="local-lvm:2",
            unprivileged=1,
            start=1,
        ),
    )
    term = api.nodes(NODE).lxc(ctid).termproxy.post()
    with _websocket(
        pvesim,
        ca_file,
        f"/nodes/{NODE}/lxc/{ctid}/vncwebsocket",
        term["port"],
        term["ticket"],
        auth,
    ) as connection:
        connection.send(f"{term['user']}:{term['ticket']}\n".encode())
        assert connection.recv(timeout=10).startswith(b"OK")
        command = "hostname\r"
        connection.send(f"0:{len(command)}:{command}".encode())
        output = b""
        while b"e2e-ct\r\n" not in output:
            output += connection.recv(timeout=10)

    # Snapshot, change, roll back.
    wait_ok(api, api.nodes(NODE).qemu(vmid).snapshot.post(snapname="before", description="e2e"))
    digest = api.nodes(NODE).qemu(vmid).config.get()["digest"]
    api.nodes(NODE).qemu(vmid).config.put(memory="4096", digest=digest)
    with pytest.raises(ResourceException) as stale:
        api.nodes(NODE).qemu(vmid).config.put(memory="1024", digest=digest)
    assert "detected modified configuration" in str(stale.value)
    wait_ok(api, api.nodes(NODE).qemu(vmid).snapshot("before").rollback.post(start=1))
    rolled_back = api.nodes(NODE).qemu(vmid).config.get()
    assert rolled_back["memory"] == "2048"
    assert rolled_back["parent"] == "before"
    assert api.nodes(NODE).qemu(vmid).status.current.get()["status"] == "running"

    # Backup and restore into a new VMID.
    wait_ok(api, api.nodes(NODE).vzdump.post(vmid=vmid, storage="local", compress="zstd"))
    backups = api.nodes(NODE).storage("local").content.get(content="backup", vmid=vmid)
    assert len(backups) == 1
    volid = backups[0]["volid"]
    assert volid.startswith(f"local:backup/vzdump-qemu-{vmid}-")
    assert volid.endswith(".vma.zst")
    restored = int(api.cluster.nextid.get())
    wait_ok(api, api.nodes(NODE).qemu.post(vmid=restored, archive=volid, storage="local-lvm"))
    restored_config = api.nodes(NODE).qemu(restored).config.get()
    assert restored_config["name"] == "e2e-vm"
    assert restored_config["scsi0"].startswith(f"local-lvm:vm-{restored}-disk-0")

    # Delete: the restored VM, then the running clone after a stop.
    wait_ok(api, api.nodes(NODE).qemu(restored).delete(purge=1))
    with pytest.raises(ResourceException) as running:
        api.nodes(NODE).qemu(vmid).delete()
    assert f"VM {vmid} is running - destroy failed" in str(running.value)
    wait_ok(api, api.nodes(NODE).qemu(vmid).status.stop.post())

    # A token without VM.PowerMgmt is refused with PVE's message.
    root.access.users.post(userid="operator@pve", password="operator-secret")
    root.access.acl.put(path="/", users="operator@pve", roles="PVEVMAdmin")
    limited = root.access.users("operator@pve").token("audit").post()
    root.access.acl.put(path=f"/vms/{vmid}", tokens="operator@pve!audit", roles="PVEAuditor")
    auditor = token_api(pvesim, ca_file, "operator@pve!audit", limited["value"])
    assert auditor.nodes(NODE).qemu(vmid).status.current.get()["status"] == "stopped"
    with pytest.raises(ResourceException) as denied:
        auditor.nodes(NODE).qemu(vmid).status.start.post()
    assert denied.value.status_code == 403
    assert f"Permission check failed (/vms/{vmid}, VM.PowerMgmt)" in str(denied.value)

    # After a restart the same state is there and the token still works.
    pvesim.restart()
    api = token_api(pvesim, ca_file, "root@pam!portal", created["value"])
    after = {item["vmid"]: item for item in api.cluster.resources.get(type="vm")}
    assert after[vmid]["name"] == "e2e-vm"
    assert after[vmid]["status"] == "stopped"
    assert after[ctid]["status"] == "running"
    assert restored not in after
    assert len(api.nodes(NODE).qemu(vmid).snapshot.get()) == 2
    assert (
        api.nodes(NODE).storage("local").content.get(content="backup", vmid=vmid)[0]["volid"]
        == volid
    )
    wait_ok(api, api.nodes(NODE).qemu(vmid).delete(purge=1))
    assert vmid not in {item["vmid"] for item in api.cluster.resources.get(type="vm")}


def test_root_ticket_login_with_pinned_certificate(pvesim: PvesimServer, ca_file: Path) -> None:
    api = ProxmoxAPI(
        pvesim.host,
        port=pvesim.port,
        user="root@pam",
        password=pvesim.root_password,
        verify_ssl=str(ca_file),
    )
    version = api.version.get()
    assert version["release"].startswith("9.")
    nodes = {node["node"]: node for node in api.nodes.get()}
    assert set(nodes) == {"pve1", "pve2", "pve3"}
    assert nodes["pve1"]["ssl_fingerprint"] == pvesim.fingerprint
    status = wait_task(api, api.nodes(NODE).qemu(TEMPLATE).clone.post(newid=4242))
    assert status["exitstatus"] == "OK"
    assert status["type"] == "qmclone"
    wait_ok(api, api.nodes(NODE).qemu(4242).delete())
