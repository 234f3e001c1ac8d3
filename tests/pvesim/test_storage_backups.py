"""Storages, volumes, vzdump backups, restore and backup jobs."""

from __future__ import annotations

import re
import time
from pathlib import Path

import requests

from tests.pvesim.pvesim_client import RawClient
from tests.pvesim_server import PvesimServer

NODE = "pve1"
GIB = 1024**3


def _run(client: RawClient, response: requests.Response) -> dict:
    assert response.status_code == 200, (response.status_code, response.reason)
    upid = response.json()["data"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.get(f"/nodes/{upid.split(':')[1]}/tasks/{upid}/status").json()["data"]
        if status["status"] == "stopped":
            assert status["exitstatus"] == "OK", status
            return status
        time.sleep(0.01)
    raise AssertionError(upid)


def _vm(client: RawClient, **extra: object) -> int:
    vmid = int(client.get("/cluster/nextid").json()["data"])
    data = {"vmid": vmid, "scsi0": "local-lvm:2", **extra}
    _run(client, client.post(f"/nodes/{NODE}/qemu", data=data))
    return vmid


def test_capacity_accounting(root: RawClient) -> None:
    before = root.get(f"/nodes/{NODE}/storage/local-lvm/status").json()["data"]
    assert before["total"] == 500 * GIB
    assert before["type"] == "lvmthin"
    _vm(root, scsi0="local-lvm:10")
    after = root.get(f"/nodes/{NODE}/storage/local-lvm/status").json()["data"]
    assert after["used"] - before["used"] == 10 * GIB
    assert after["avail"] == after["total"] - after["used"]
    storages = {s["storage"]: s for s in root.get(f"/nodes/{NODE}/storage").json()["data"]}
    assert set(storages) == {"local", "local-lvm", "shared-nfs"}
    assert storages["shared-nfs"]["shared"] == 1
    images = root.get(f"/nodes/{NODE}/storage", params={"content": "images"}).json()["data"]
    assert {s["storage"] for s in images} == {"local-lvm", "shared-nfs"}
    config = {s["storage"]: s for s in root.get("/storage").json()["data"]}
    assert config["local"]["path"] == "/var/lib/vz"
    assert config["local"]["content"] == "backup,iso,vztmpl"


def test_backup_notes_protection_and_delete(root: RawClient) -> None:
    vmid = _vm(root, name="noted")
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/vzdump",
            data={
                "vmid": vmid,
                "storage": "local",
                "compress": "zstd",
                "protected": 1,
                "notes-template": "{{guestname}} on {{node}} ({{vmid}}, {{cluster}})",
            },
        ),
    )
    items = root.get(
        f"/nodes/{NODE}/storage/local/content", params={"content": "backup", "vmid": vmid}
    ).json()["data"]
    assert len(items) == 1
    item = items[0]
    assert re.fullmatch(
        rf"local:backup/vzdump-qemu-{vmid}-\d{{4}}_\d\d_\d\d-\d\d_\d\d_\d\d\.vma\.zst",
        item["volid"],
    )
    assert item["notes"] == f"noted on {NODE} ({vmid}, pvesim)"
    assert item["protected"] == 1
    assert item["format"] == "vma.zst"
    volid = item["volid"]
    path = f"/nodes/{NODE}/storage/local/content/{volid}"
    assert root.delete(path).reason == f"volume '{volid}' is protected"
    assert root.put(path, data={"protected": 0, "notes": "keep me"}).ok
    assert root.get(path).json()["data"]["notes"] == "keep me"
    assert (
        "name: noted"
        in root.get(f"/nodes/{NODE}/vzdump/extractconfig", params={"volume": volid}).json()["data"]
    )
    status = _run(root, root.delete(path))
    assert status["type"] == "imgdel"
    assert root.get(path).status_code == 500


def test_restore_over_an_existing_guest_and_containers(root: RawClient) -> None:
    vmid = _vm(root, name="original", memory="512")
    _run(root, root.post(f"/nodes/{NODE}/vzdump", data={"vmid": vmid, "storage": "shared-nfs"}))
    volid = root.get(
        f"/nodes/{NODE}/storage/shared-nfs/content", params={"content": "backup", "vmid": vmid}
    ).json()["data"][0]["volid"]
    assert volid.endswith(".vma")
    root.put(f"/nodes/{NODE}/qemu/{vmid}/config", data={"memory": "4096", "name": "changed"})
    response = root.post(f"/nodes/{NODE}/qemu", data={"vmid": vmid, "archive": volid})
    assert response.reason == f"unable to create VM {vmid}: config file already exists"
    _run(root, root.post(f"/nodes/{NODE}/qemu", data={"vmid": vmid, "archive": volid, "force": 1}))
    config = root.get(f"/nodes/{NODE}/qemu/{vmid}/config").json()["data"]
    assert (config["name"], config["memory"]) == ("original", "512")
    disks = root.get(f"/nodes/{NODE}/storage/local-lvm/content", params={"vmid": vmid}).json()
    assert len(disks["data"]) == 1

    ctid = int(root.get("/cluster/nextid").json()["data"])
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/lxc",
            data={
                "vmid": ctid,
                "hostname": "box",
                "unprivileged": 1,
                "rootfs": "local-lvm:1",
                "ostemplate": "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
            },
        ),
    )
    _run(root, root.post(f"/nodes/{NODE}/vzdump", data={"vmid": ctid, "compress": "gzip"}))
    archive = root.get(
        f"/nodes/{NODE}/storage/local/content", params={"content": "backup", "vmid": ctid}
    ).json()["data"][0]["volid"]
    assert archive.endswith(".tar.gz")
    restored = ctid + 1
    response = root.post(f"/nodes/{NODE}/qemu", data={"vmid": restored, "archive": archive})
    assert response.reason == f"unable to restore '{archive}': not a qemu backup archive"
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/lxc",
            data={
                "vmid": restored,
                "ostemplate": archive,
                "restore": 1,
                "unprivileged": 1,
            },
        ),
    )
    config = root.get(f"/nodes/{NODE}/lxc/{restored}/config").json()["data"]
    assert config["hostname"] == "box"
    tasks = root.get(f"/nodes/{NODE}/tasks", params={"vmid": restored}).json()["data"]
    assert tasks[0]["type"] == "vzrestore"


def test_backup_permissions(pvesim: PvesimServer, ca_file: Path, root: RawClient) -> None:
    vmid = _vm(root)
    root.post("/access/users", data={"userid": "backup@pve", "password": "backup-pass"})
    root.put(
        "/access/acl", data={"path": f"/vms/{vmid}", "users": "backup@pve", "roles": "PVEVMUser"}
    )
    user = RawClient(pvesim, ca_file)
    user.login("backup@pve", "backup-pass")
    response = user.post(f"/nodes/{NODE}/vzdump", data={"vmid": vmid, "storage": "local"})
    assert response.reason == "Permission check failed (/storage/local, Datastore.AllocateSpace)"
    root.put(
        "/access/acl",
        data={"path": "/storage/local", "users": "backup@pve", "roles": "PVEDatastoreUser"},
    )
    response = user.post(f"/nodes/{NODE}/vzdump", data={"vmid": vmid, "dumpdir": "/tmp"})
    assert response.json()["errors"] == {"dumpdir": "Only root may set this option."}
    _run(user, user.post(f"/nodes/{NODE}/vzdump", data={"vmid": vmid, "storage": "local"}))
    mine = user.get(f"/nodes/{NODE}/storage/local/content", params={"content": "backup"}).json()
    assert {item["vmid"] for item in mine["data"]} == {vmid}


def test_backup_jobs_crud(root: RawClient) -> None:
    assert root.post(
        "/cluster/backup",
        data={
            "id": "nightly",
            "vmid": "100,101",
            "storage": "local",
            "schedule": "02:00",
            "mode": "snapshot",
        },
    ).ok
    job = root.get("/cluster/backup/nightly").json()["data"]
    assert job["schedule"] == "02:00"
    assert job["vmid"] == "100,101"
    assert job["type"] == "vzdump"
    assert root.put("/cluster/backup/nightly", data={"enabled": 0, "delete": "mode"}).ok
    job = root.get("/cluster/backup/nightly").json()["data"]
    assert job["enabled"] == 0
    assert "mode" not in job
    assert root.post("/cluster/backup", data={"id": "nightly", "all": 1}).reason == (
        "Job 'nightly' already exists"
    )
    assert "nightly" in [j["id"] for j in root.get("/cluster/backup").json()["data"]]
    assert root.delete("/cluster/backup/nightly").ok
    assert root.get("/cluster/backup/nightly").reason == "Job 'nightly' does not exist"


def test_download_url_and_groups(root: RawClient) -> None:
    data = {"content": "iso", "filename": "alpine.iso", "url": "https://example.com/alpine.iso"}
    status = _run(root, root.post(f"/nodes/{NODE}/storage/local/download-url", data=data))
    assert status["type"] == "download"
    isos = root.get(f"/nodes/{NODE}/storage/local/content", params={"content": "iso"}).json()
    assert "local:iso/alpine.iso" in {item["volid"] for item in isos["data"]}
    again = root.post(f"/nodes/{NODE}/storage/local/download-url", data=data)
    assert again.reason == "refusing to override existing file 'alpine.iso'"
    bad = root.post(f"/nodes/{NODE}/storage/local/download-url", data=data | {"filename": "x.exe"})
    assert bad.json()["errors"] == {"filename": "invalid filename 'x.exe' for content 'iso'"}
    wrong = root.post(f"/nodes/{NODE}/storage/local-lvm/download-url", data=data)
    assert wrong.reason == "storage 'local-lvm' is not configured for content-type 'iso'"

    assert root.post("/access/groups", data={"groupid": "staff"}).ok
    root.post("/access/users", data={"userid": "carol@pve", "groups": "staff"})
    assert root.get("/access/groups/staff").json()["data"] == {"members": ["carol@pve"]}
    assert root.get("/access/users/carol@pve").json()["data"]["groups"] == ["staff"]
    assert root.delete("/access/groups/staff").ok
    assert root.get("/access/groups/staff").reason == "group 'staff' does not exist"


def test_upload_and_allocate(root: RawClient) -> None:
    payload = b"\x00" * 123_456
    response = root.post(
        f"/nodes/{NODE}/storage/local/upload",
        data={"content": "vztmpl"},
        files={"filename": ("custom-ct.tar.zst", payload)},
        headers={"CSRFPreventionToken": ""},  # uploads are exempt from the CSRF check
    )
    assert response.status_code == 200, response.reason
    upid = response.json()["data"]
    assert ":imgcopy::root@pam:" in upid
    for _ in range(500):
        if root.get(f"/nodes/{NODE}/tasks/{upid}/status").json()["data"]["status"] == "stopped":
            break
        time.sleep(0.01)
    item = root.get(f"/nodes/{NODE}/storage/local/content/local:vztmpl/custom-ct.tar.zst").json()
    assert item["data"]["size"] == len(payload)

    volid = root.post(
        f"/nodes/{NODE}/storage/shared-nfs/content",
        data={"vmid": 4321, "filename": "vm-4321-disk-5", "size": "2G"},
    ).json()["data"]
    assert volid == "shared-nfs:4321/vm-4321-disk-5.qcow2"
    content = root.get(f"/nodes/{NODE}/storage/shared-nfs/content", params={"vmid": 4321}).json()
    assert content["data"][0]["size"] == 2 * GIB
    response = root.post(
        f"/nodes/{NODE}/storage/local-lvm/content",
        data={"vmid": 4321, "filename": "disk-5", "size": "2G"},
    )
    assert response.reason == "illegal name 'disk-5' - should be 'vm-4321-*'"
