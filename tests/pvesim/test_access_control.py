"""ACL enforcement through the API: pools, user vs token, NoAccess, filtered lists, roles."""

from __future__ import annotations

from pathlib import Path

from tests.pvesim.pvesim_client import RawClient
from tests.pvesim_server import PvesimServer


def _wait(client: RawClient, upid: str) -> dict:
    for _ in range(1000):
        status = client.get(f"/nodes/{upid.split(':')[1]}/tasks/{upid}/status").json()["data"]
        if status["status"] == "stopped":
            return status
    raise AssertionError(upid)


def test_pool_member_rights(pvesim: PvesimServer, ca_file: Path, root: RawClient) -> None:
    assert root.post("/pools", data={"poolid": "tenant-a", "comment": "Tenant A"}).ok
    assert root.post("/access/users", data={"userid": "alice@pve", "password": "alice-pass"}).ok
    assert root.put(
        "/access/acl", data={"path": "/pool/tenant-a", "users": "alice@pve", "roles": "PVEVMUser"}
    ).ok
    vmid = int(root.get("/cluster/nextid").json()["data"])
    upid = root.post(
        "/nodes/pve2/qemu",
        data={"vmid": vmid, "pool": "tenant-a", "memory": "512", "scsi0": "local-lvm:1"},
    ).json()["data"]
    assert _wait(root, upid)["exitstatus"] == "OK"
    other = vmid + 1
    _wait(root, root.post("/nodes/pve2/qemu", data={"vmid": other}).json()["data"])

    alice = RawClient(pvesim, ca_file)
    alice.login("alice@pve", "alice-pass")
    visible = {
        item["vmid"]
        for item in alice.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    }
    assert visible == {vmid}
    assert alice.get("/pools").json()["data"] == []  # listing pools needs Pool.Audit
    assert alice.post(f"/nodes/pve2/qemu/{vmid}/status/start").ok  # VM.PowerMgmt via the pool
    response = alice.delete(f"/nodes/pve2/qemu/{vmid}")
    assert (response.status_code, response.reason) == (
        403,
        f"Permission check failed (/vms/{vmid}, VM.Allocate)",
    )
    response = alice.post(f"/nodes/pve2/qemu/{other}/status/start")
    assert response.reason == f"Permission check failed (/vms/{other}, VM.PowerMgmt)"
    # PVEVMUser has no VM.Config.Memory: the per-option check inside the config call.
    response = alice.put(f"/nodes/pve2/qemu/{vmid}/config", data={"memory": "1024"})
    assert response.reason == f"Permission check failed (/vms/{vmid}, VM.Config.Memory)"
    # A NoAccess entry on the VM itself beats the pool grant.
    root.put(
        "/access/acl", data={"path": f"/vms/{vmid}", "users": "alice@pve", "roles": "NoAccess"}
    )
    assert alice.get(f"/nodes/pve2/qemu/{vmid}/status/current").status_code == 403
    assert alice.get("/cluster/resources", params={"type": "vm"}).json()["data"] == []
    permissions = alice.get("/access/permissions").json()["data"]
    assert permissions["/pool/tenant-a"]["VM.PowerMgmt"] == 1


def test_create_into_a_pool_needs_allocate_on_the_pool(
    pvesim: PvesimServer, ca_file: Path, root: RawClient
) -> None:
    root.post("/pools", data={"poolid": "tenant-b"})
    root.post("/access/users", data={"userid": "bob@pve", "password": "bob-password"})
    root.put(
        "/access/acl", data={"path": "/pool/tenant-b", "users": "bob@pve", "roles": "PVEVMAdmin"}
    )
    root.put(
        "/access/acl",
        data={"path": "/storage/local-lvm", "users": "bob@pve", "roles": "PVEDatastoreUser"},
    )
    bob = RawClient(pvesim, ca_file)
    bob.login("bob@pve", "bob-password")
    vmid = int(bob.get("/cluster/nextid").json()["data"])
    response = bob.post("/nodes/pve1/qemu", data={"vmid": vmid, "scsi0": "local-lvm:1"})
    assert response.reason == f"Permission check failed (/vms/{vmid}, VM.Allocate)"
    response = bob.post(
        "/nodes/pve1/qemu", data={"vmid": vmid, "pool": "tenant-b", "scsi0": "shared-nfs:1"}
    )
    assert (
        response.reason == "Permission check failed (/storage/shared-nfs, Datastore.AllocateSpace)"
    )
    response = bob.post(
        "/nodes/pve1/qemu", data={"vmid": vmid, "pool": "tenant-b", "scsi0": "local-lvm:1"}
    )
    assert response.ok, response.reason
    assert _wait(bob, response.json()["data"])["exitstatus"] == "OK"
    members = root.get("/pools/tenant-b").json()["data"]["members"]
    assert [m["vmid"] for m in members] == [vmid]
    # Bob's task is his own; he sees it without Sys.Audit.
    tasks = bob.get("/nodes/pve1/tasks").json()["data"]
    assert tasks
    assert all(task["user"] == "bob@pve" for task in tasks)


def test_roles_and_acl_listing(root: RawClient) -> None:
    roles = {role["roleid"]: role for role in root.get("/access/roles").json()["data"]}
    assert roles["PVEVMUser"]["special"] == 1
    assert "VM.PowerMgmt" in roles["PVEVMUser"]["privs"].split(",")
    response = root.post("/access/roles", data={"roleid": "PVEMine", "privs": "VM.Audit"})
    assert response.status_code == 500
    assert root.post(
        "/access/roles", data={"roleid": "Operator", "privs": "VM.Audit,VM.PowerMgmt"}
    ).ok
    assert root.get("/access/roles/Operator").json()["data"] == {"VM.Audit": 1, "VM.PowerMgmt": 1}
    response = root.put(
        "/access/acl", data={"path": "/nowhere", "users": "root@pam", "roles": "Operator"}
    )
    assert response.json()["errors"] == {"path": "invalid ACL path '/nowhere'"}
    root.put("/access/acl", data={"path": "/vms", "groups": "ops", "roles": "Operator"})
    root.post("/access/groups", data={"groupid": "ops"})
    assert root.put("/access/acl", data={"path": "/vms", "groups": "ops", "roles": "Operator"}).ok
    entries = root.get("/access/acl").json()["data"]
    assert {
        "path": "/vms",
        "type": "group",
        "ugid": "ops",
        "roleid": "Operator",
        "propagate": 1,
    } in entries
