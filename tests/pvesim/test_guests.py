"""Guest lifecycle details: create, config, clone variants, template, resize, migrate, delete."""

from __future__ import annotations

import time

import requests

from tests.pvesim.pvesim_client import RawClient

NODE = "pve1"


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


def _vmid(client: RawClient) -> int:
    return int(client.get("/cluster/nextid").json()["data"])


def test_create_allocates_disks_and_types_config(root: RawClient) -> None:
    vmid = _vmid(root)
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/qemu",
            data={
                "vmid": vmid,
                "name": "typed",
                "memory": "1024",
                "cores": 2,
                "onboot": 1,
                "scsi0": "local-lvm:4,discard=on",
                "ide2": "local-lvm:cloudinit",
                "net0": "virtio,bridge=vmbr0",
                "tags": "web;prod;web",
                "ciuser": "admin",
                "ipconfig0": "ip=dhcp",
            },
        ),
    )
    config = root.get(f"/nodes/{NODE}/qemu/{vmid}/config").json()["data"]
    assert config["scsi0"] == f"local-lvm:vm-{vmid}-disk-0,discard=on,size=4G"
    assert config["ide2"] == f"local-lvm:vm-{vmid}-cloudinit,media=cdrom"
    assert config["net0"].startswith("virtio=BC:24:11:")
    assert config["cores"] == 2
    assert config["onboot"] == 1
    assert config["memory"] == "1024"
    assert config["tags"] == "web;prod"
    assert len(config["digest"]) == 40
    content = root.get(f"/nodes/{NODE}/storage/local-lvm/content", params={"vmid": vmid}).json()
    assert sorted(item["volid"] for item in content["data"]) == [
        f"local-lvm:vm-{vmid}-cloudinit",
        f"local-lvm:vm-{vmid}-disk-0",
    ]
    response = root.post(f"/nodes/{NODE}/qemu", data={"vmid": vmid})
    assert response.reason == f"unable to create VM {vmid}: config file already exists"
    response = root.get(f"/nodes/pve2/qemu/{vmid}/config")
    assert (
        response.reason == f"Configuration file 'nodes/pve2/qemu-server/{vmid}.conf' does not exist"
    )


def test_config_update_adds_and_detaches_disks(root: RawClient) -> None:
    vmid = _vmid(root)
    _run(root, root.post(f"/nodes/{NODE}/qemu", data={"vmid": vmid, "scsi0": "local-lvm:2"}))
    assert root.put(f"/nodes/{NODE}/qemu/{vmid}/config", data={"scsi1": "local-lvm:3"}).ok
    config = root.get(f"/nodes/{NODE}/qemu/{vmid}/config").json()["data"]
    assert config["scsi1"] == f"local-lvm:vm-{vmid}-disk-1,size=3G"
    _run(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/config", data={"delete": "scsi1"}))
    config = root.get(f"/nodes/{NODE}/qemu/{vmid}/config").json()["data"]
    assert "scsi1" not in config
    assert config["unused0"] == f"local-lvm:vm-{vmid}-disk-1"
    response = root.put(f"/nodes/{NODE}/qemu/{vmid}/config", data={"delete": "unused0,bogus!"})
    assert response.status_code == 400
    assert root.put(f"/nodes/{NODE}/qemu/{vmid}/config", data={"delete": "unused0"}).ok
    volumes = root.get(f"/nodes/{NODE}/storage/local-lvm/content", params={"vmid": vmid}).json()
    assert [item["volid"] for item in volumes["data"]] == [f"local-lvm:vm-{vmid}-disk-0"]


def test_full_clone_to_another_node_and_template_rules(root: RawClient) -> None:
    newid = _vmid(root)
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/qemu/9000/clone",
            data={
                "newid": newid,
                "full": 1,
                "target": "pve2",
                "storage": "shared-nfs",
                "name": "full",
            },
        ),
    )
    config = root.get(f"/nodes/pve2/qemu/{newid}/config").json()["data"]
    assert config["scsi0"].startswith(f"shared-nfs:{newid}/vm-{newid}-disk-0.qcow2")
    assert "template" not in config
    # Linked clones need a template; 9001 lives on pve1's local-lvm only.
    response = root.post(f"/nodes/pve2/qemu/{newid}/clone", data={"newid": newid + 1, "full": 0})
    assert response.status_code == 500
    response = root.post(
        f"/nodes/{NODE}/qemu/9001/clone", data={"newid": newid + 1, "target": "pve3"}
    )
    assert "shared storage" in response.reason
    _run(root, root.post(f"/nodes/pve2/qemu/{newid}/template"))
    config = root.get(f"/nodes/pve2/qemu/{newid}/config").json()["data"]
    assert config["template"] == 1
    assert config["scsi0"].startswith(f"shared-nfs:{newid}/base-{newid}-disk-0.qcow2")
    assert root.post(f"/nodes/pve2/qemu/{newid}/status/start").reason == (
        "you can't start a VM if it's a template"
    )
    linked = newid + 2
    _run(root, root.post(f"/nodes/pve2/qemu/{newid}/clone", data={"newid": linked}))
    response = root.delete(f"/nodes/pve2/qemu/{newid}")
    assert "is still in use by linked cloned VM" in response.reason
    _run(root, root.delete(f"/nodes/pve2/qemu/{linked}"))
    _run(root, root.delete(f"/nodes/pve2/qemu/{newid}"))


def test_resize_and_migrate(root: RawClient) -> None:
    vmid = _vmid(root)
    _run(root, root.post(f"/nodes/{NODE}/qemu", data={"vmid": vmid, "scsi0": "local-lvm:2"}))
    _run(root, root.put(f"/nodes/{NODE}/qemu/{vmid}/resize", data={"disk": "scsi0", "size": "+1G"}))
    config = root.get(f"/nodes/{NODE}/qemu/{vmid}/config").json()["data"]
    assert config["scsi0"].endswith("size=3G")
    response = root.put(f"/nodes/{NODE}/qemu/{vmid}/resize", data={"disk": "scsi0", "size": "1G"})
    assert response.reason == "shrinking disks is not supported"
    response = root.put(f"/nodes/{NODE}/qemu/{vmid}/resize", data={"disk": "scsi0", "size": "lots"})
    assert response.json()["errors"] == {"size": "value does not match the regex pattern"}

    _run(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/status/start"))
    response = root.post(f"/nodes/{NODE}/qemu/{vmid}/migrate", data={"target": "pve2"})
    assert response.reason == "can't migrate running VM without --online"
    response = root.post(f"/nodes/{NODE}/qemu/{vmid}/migrate", data={"target": "pve2", "online": 1})
    assert "with-local-disks" in response.reason
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/qemu/{vmid}/migrate",
            data={"target": "pve2", "online": 1, "with-local-disks": 1},
        ),
    )
    status = root.get(f"/nodes/pve2/qemu/{vmid}/status/current").json()["data"]
    assert status["status"] == "running"
    assert root.get(f"/nodes/{NODE}/qemu/{vmid}/status/current").status_code == 500
    moved = root.get("/nodes/pve2/storage/local-lvm/content", params={"vmid": vmid}).json()["data"]
    assert [item["volid"] for item in moved] == [f"local-lvm:vm-{vmid}-disk-0"]
    resources = {
        r["vmid"]: r for r in root.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    }
    assert resources[vmid]["node"] == "pve2"
    assert resources[vmid]["maxdisk"] == 3 * 1024**3


def test_container_lifecycle_and_power_rules(root: RawClient) -> None:
    ctid = _vmid(root)
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/lxc",
            data={
                "vmid": ctid,
                "hostname": "ct1",
                "unprivileged": 1,
                "memory": 256,
                "ostemplate": "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                "rootfs": "local-lvm:3",
                "net0": "name=eth0,bridge=vmbr0,ip=dhcp",
            },
        ),
    )
    config = root.get(f"/nodes/{NODE}/lxc/{ctid}/config").json()["data"]
    assert config["rootfs"] == f"local-lvm:vm-{ctid}-disk-0,size=3G"
    assert config["ostype"] == "debian"
    assert "hwaddr=BC:24:11:" in config["net0"]
    assert root.post(f"/nodes/{NODE}/lxc/{ctid}/status/stop").reason == f"CT {ctid} not running"
    _run(root, root.post(f"/nodes/{NODE}/lxc/{ctid}/status/start"))
    assert (
        root.post(f"/nodes/{NODE}/lxc/{ctid}/status/start").reason == f"CT {ctid} already running"
    )
    _run(root, root.post(f"/nodes/{NODE}/lxc/{ctid}/status/suspend"))
    _run(root, root.post(f"/nodes/{NODE}/lxc/{ctid}/status/resume"))
    _run(root, root.post(f"/nodes/{NODE}/lxc/{ctid}/status/shutdown"))
    listing = {item["vmid"]: item for item in root.get(f"/nodes/{NODE}/lxc").json()["data"]}
    assert listing[ctid]["status"] == "stopped"
    assert listing[ctid]["type"] == "lxc"
    # Privileged containers need Sys.Modify on / (root has it).
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/lxc",
            data={
                "vmid": ctid + 1,
                "ostemplate": "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
            },
        ),
    )
    root.put(f"/nodes/{NODE}/lxc/{ctid}/config", data={"protection": 1})
    response = root.delete(f"/nodes/{NODE}/lxc/{ctid}")
    assert response.reason == f"can't remove CT {ctid} - protection mode enabled"
    root.put(f"/nodes/{NODE}/lxc/{ctid}/config", data={"delete": "protection"})
    _run(root, root.delete(f"/nodes/{NODE}/lxc/{ctid}", params={"purge": 1}))
    assert (
        root.get(f"/nodes/{NODE}/storage/local-lvm/content", params={"vmid": ctid}).json()["data"]
        == []
    )


def test_snapshot_tree(root: RawClient) -> None:
    vmid = _vmid(root)
    _run(root, root.post(f"/nodes/{NODE}/qemu", data={"vmid": vmid, "scsi0": "local-lvm:1"}))
    _run(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/snapshot", data={"snapname": "one"}))
    _run(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/snapshot", data={"snapname": "two"}))
    names = {s["name"]: s for s in root.get(f"/nodes/{NODE}/qemu/{vmid}/snapshot").json()["data"]}
    assert names["two"]["parent"] == "one"
    assert names["current"]["parent"] == "two"
    response = root.post(f"/nodes/{NODE}/qemu/{vmid}/snapshot", data={"snapname": "one"})
    assert response.reason == "snapshot name 'one' already used"
    assert root.put(
        f"/nodes/{NODE}/qemu/{vmid}/snapshot/one/config", data={"description": "first"}
    ).ok
    _run(root, root.delete(f"/nodes/{NODE}/qemu/{vmid}/snapshot/one"))
    names = {s["name"]: s for s in root.get(f"/nodes/{NODE}/qemu/{vmid}/snapshot").json()["data"]}
    assert set(names) == {"two", "current"}
    assert "parent" not in names["two"]
    # Snapshots need a capable storage: raw images on a dir/nfs storage have none.
    other = _vmid(root)
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/lxc",
            data={
                "vmid": other,
                "unprivileged": 1,
                "rootfs": "shared-nfs:1",
                "ostemplate": "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
            },
        ),
    )
    response = root.post(f"/nodes/{NODE}/lxc/{other}/snapshot", data={"snapname": "nope"})
    assert response.reason == "snapshot feature is not available"


def test_rrddata_is_deterministic(root: RawClient) -> None:
    first = root.get(f"/nodes/{NODE}/rrddata", params={"timeframe": "day"}).json()["data"]
    second = root.get(f"/nodes/{NODE}/rrddata", params={"timeframe": "day"}).json()["data"]
    assert len(first) == 70
    assert first == second or first[1:] == second[:-1]
    assert first[1]["time"] - first[0]["time"] == 1800
    guest = root.get(f"/nodes/{NODE}/qemu/9000/rrddata", params={"timeframe": "year"}).json()
    assert {"time", "maxcpu", "maxmem"} <= set(guest["data"][0])


def test_feature_migrate_preconditions_and_interfaces(root: RawClient) -> None:
    shared = root.get(f"/nodes/{NODE}/qemu/9000/feature", params={"feature": "clone"}).json()
    assert shared["data"] == {"hasFeature": 1, "nodes": ["pve1", "pve2", "pve3"]}
    local = root.get(f"/nodes/{NODE}/qemu/9001/feature", params={"feature": "clone"}).json()
    assert local["data"] == {"hasFeature": 1, "nodes": ["pve1"]}
    snapshot = root.get(f"/nodes/{NODE}/qemu/9000/feature", params={"feature": "snapshot"})
    assert snapshot.json()["data"]["hasFeature"] == 1  # qcow2 on nfs can snapshot

    vmid = _vmid(root)
    _run(root, root.post(f"/nodes/{NODE}/qemu", data={"vmid": vmid, "scsi0": "local-lvm:2"}))
    check = root.get(f"/nodes/{NODE}/qemu/{vmid}/migrate", params={"target": "pve2"}).json()["data"]
    assert check["running"] == 0
    assert check["allowed_nodes"] == ["pve2", "pve3"]
    assert check["local_disks"] == [
        {"volid": f"local-lvm:vm-{vmid}-disk-0", "size": 2 * 1024**3, "cdrom": 0, "is_unused": 0}
    ]

    ctid = _vmid(root)
    _run(
        root,
        root.post(
            f"/nodes/{NODE}/lxc",
            data={
                "vmid": ctid,
                "unprivileged": 1,
                "start": 1,
                "ostemplate": "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
                "net0": "name=eth0,bridge=vmbr0,ip=192.0.2.10/24",
            },
        ),
    )
    interfaces = root.get(f"/nodes/{NODE}/lxc/{ctid}/interfaces").json()["data"]
    assert [i["name"] for i in interfaces] == ["lo", "eth0"]
    assert interfaces[1]["inet"] == "192.0.2.10/24"
    assert interfaces[1]["ip-addresses"] == [
        {"ip-address": "192.0.2.10", "ip-address-type": "inet", "prefix": 24}
    ]


def test_ha_managed_guest(root: RawClient) -> None:
    vmid = _vmid(root)
    _run(root, root.post(f"/nodes/{NODE}/qemu", data={"vmid": vmid, "scsi0": "shared-nfs:1"}))
    assert root.post("/cluster/ha/resources", data={"sid": f"vm:{vmid}"}).ok
    assert root.post("/cluster/ha/resources", data={"sid": str(vmid)}).reason == (
        f"resource ID 'vm:{vmid}' already defined"
    )
    assert root.post("/cluster/ha/resources", data={"sid": f"ct:{vmid}"}).status_code == 400
    tasks = root.get(f"/nodes/{NODE}/tasks", params={"vmid": vmid, "source": "all"}).json()["data"]
    assert tasks[0]["type"] == "hastart"
    _wait_for_status(root, vmid, "running")
    resources = {
        r["vmid"]: r for r in root.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    }
    assert resources[vmid]["hastate"] == "started"
    ha_status = root.get("/cluster/ha/status/current").json()["data"]
    service = next(item for item in ha_status if item.get("sid") == f"vm:{vmid}")
    assert (service["type"], service["state"], service["node"]) == ("service", "started", NODE)

    status = _run(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/status/stop"))
    assert status["type"] == "hastop"
    assert root.get(f"/cluster/ha/resources/vm:{vmid}").json()["data"]["state"] == "stopped"
    response = root.delete(f"/nodes/{NODE}/qemu/{vmid}")
    assert response.reason == (
        f"unable to remove VM {vmid} - used in HA resources and purge parameter not set."
    )
    _run(root, root.delete(f"/nodes/{NODE}/qemu/{vmid}", params={"purge": 1}))
    remaining = root.get("/cluster/ha/resources").json()["data"]
    assert f"vm:{vmid}" not in {item["sid"] for item in remaining}


def _wait_for_status(root: RawClient, vmid: int, wanted: str) -> None:
    for _ in range(500):
        if root.get(f"/nodes/{NODE}/qemu/{vmid}/status/current").json()["data"]["status"] == wanted:
            return
        time.sleep(0.01)
    raise AssertionError(f"{vmid} never became {wanted}")
