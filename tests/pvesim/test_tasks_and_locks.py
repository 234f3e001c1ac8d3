"""Guest locks, task lists/logs/status/abort, and the fault injection API."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from pvecore.upid import Upid
from pvesim.tasks import TaskManager
from tests.pvesim.pvesim_client import RawClient
from tests.pvesim_server import PvesimServer

NODE = "pve1"


@pytest.fixture
def faults(pvesim: PvesimServer, ca_file: Path) -> Iterator[Callable[..., dict]]:
    """PUT helper for /pvesim/faults; everything is reset afterwards."""
    url = f"https://{pvesim.host}:{pvesim.port}/pvesim/faults"

    def configure(**body: object) -> dict:
        response = requests.put(url, json=body, verify=str(ca_file), timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    yield configure
    assert requests.delete(url, verify=str(ca_file), timeout=10).json()["offline_nodes"] == []


def _wait(client: RawClient, upid: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.get(f"/nodes/{upid.split(':')[1]}/tasks/{upid}/status").json()["data"]
        if status["status"] == "stopped":
            return status
        time.sleep(0.01)
    raise AssertionError(upid)


def _new_guest(root: RawClient, kind: str = "qemu") -> int:
    vmid = int(root.get("/cluster/nextid").json()["data"])
    data: dict[str, object] = {"vmid": vmid}
    if kind == "lxc":
        data |= {
            "ostemplate": "local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
            "unprivileged": 1,
        }
    else:
        data |= {"scsi0": "local-lvm:1"}
    assert (
        _wait(root, root.post(f"/nodes/{NODE}/{kind}", data=data).json()["data"])["exitstatus"]
        == "OK"
    )
    return vmid


def test_locks_block_conflicting_calls(
    pvesim: PvesimServer, ca_file: Path, root: RawClient
) -> None:
    vmid = _new_guest(root)
    assert root.put(f"/nodes/{NODE}/qemu/{vmid}/config", data={"lock": "backup"}).ok
    for method, path in (
        ("POST", f"/nodes/{NODE}/qemu/{vmid}/status/start"),
        ("POST", f"/nodes/{NODE}/qemu/{vmid}/snapshot"),
        ("DELETE", f"/nodes/{NODE}/qemu/{vmid}"),
    ):
        data = {"snapname": "snap1"} if path.endswith("snapshot") else None
        response = root.request(method, path, data=data)
        assert (response.status_code, response.reason) == (500, "VM is locked (backup)")
    assert root.get(f"/nodes/{NODE}/qemu/{vmid}/status/current").json()["data"]["lock"] == "backup"

    root.post("/access/users", data={"userid": "locky@pve", "password": "locky-pass"})
    root.put(
        "/access/acl", data={"path": f"/vms/{vmid}", "users": "locky@pve", "roles": "PVEVMAdmin"}
    )
    user = RawClient(pvesim, ca_file)
    user.login("locky@pve", "locky-pass")
    response = user.post(f"/nodes/{NODE}/qemu/{vmid}/status/start", data={"skiplock": 1})
    assert response.json()["errors"] == {"skiplock": "Only root may use this option."}
    response = user.put(f"/nodes/{NODE}/qemu/{vmid}/config", data={"delete": "lock"})
    assert response.reason == "only root can set 'lock' config"

    upid = root.post(f"/nodes/{NODE}/qemu/{vmid}/status/start", data={"skiplock": 1}).json()["data"]
    assert _wait(root, upid)["exitstatus"] == "OK"
    assert root.put(f"/nodes/{NODE}/qemu/{vmid}/config", data={"delete": "lock", "skiplock": 1}).ok

    ctid = _new_guest(root, "lxc")
    root.put(f"/nodes/{NODE}/lxc/{ctid}/config", data={"lock": "mounted"})
    response = root.post(f"/nodes/{NODE}/lxc/{ctid}/status/start")
    assert response.reason == "CT is locked (mounted)"


def test_backup_of_a_locked_guest_fails_the_task(root: RawClient) -> None:
    vmid = _new_guest(root)
    root.put(f"/nodes/{NODE}/qemu/{vmid}/config", data={"lock": "snapshot"})
    status = _wait(root, root.post(f"/nodes/{NODE}/vzdump", data={"vmid": vmid}).json()["data"])
    assert status["exitstatus"] == "job errors"
    log = root.get(f"/nodes/{NODE}/tasks/{status['upid']}/log").json()
    assert f"ERROR: Backup of VM {vmid} failed - VM is locked (snapshot)" in [
        line["t"] for line in log["data"]
    ]
    assert log["data"][-1]["t"] == "TASK ERROR: job errors"


def test_task_list_log_and_status(root: RawClient) -> None:
    vmid = _new_guest(root)
    upid = root.post(f"/nodes/{NODE}/qemu/{vmid}/status/start").json()["data"]
    fields = upid.split(":")
    assert len(fields) == 9
    assert fields[0] == "UPID"
    assert fields[-1] == ""
    assert fields[5:8] == ["qmstart", str(vmid), "root@pam"]
    status = _wait(root, upid)
    assert status["upid"] == upid
    assert status["pid"] == int(fields[2], 16)
    assert status["starttime"] == int(fields[4], 16)

    listing = root.get(f"/nodes/{NODE}/tasks", params={"vmid": vmid, "limit": 1}).json()
    assert listing["total"] == 2  # qmcreate and qmstart
    assert listing["data"][0]["upid"] == upid
    assert listing["data"][0]["status"] == "OK"
    assert "endtime" in listing["data"][0]
    by_type = root.get(f"/nodes/{NODE}/tasks", params={"typefilter": "qmcreate", "vmid": vmid})
    assert [t["type"] for t in by_type.json()["data"]] == ["qmcreate"]

    log = root.get(f"/nodes/{NODE}/tasks/{upid}/log", params={"start": 0, "limit": 50}).json()
    assert log["total"] == len(log["data"])
    assert log["data"][-1] == {"n": log["total"], "t": "TASK OK"}

    response = root.get(f"/nodes/{NODE}/tasks/{upid.replace('qmstart', 'qmstop')}/status")
    assert response.json()["errors"] == {"upid": "no such task"}
    response = root.get(f"/nodes/{NODE}/tasks/garbage/status")
    assert response.json()["errors"] == {"upid": "unable to parse worker upid"}
    cluster = {task["upid"]: task for task in root.get("/cluster/tasks").json()["data"]}
    assert cluster[upid]["status"] == "OK"
    assert cluster[upid]["node"] == NODE


def test_abort_a_running_task(root: RawClient) -> None:
    vmid = _new_guest(root)
    _wait(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/status/start").json()["data"])
    # A vncproxy task waits (in real time) for its websocket: long enough to abort.
    upid = root.post(f"/nodes/{NODE}/qemu/{vmid}/vncproxy", data={"websocket": 1}).json()["data"][
        "upid"
    ]
    active = root.get(f"/nodes/{NODE}/tasks", params={"source": "active"}).json()["data"]
    assert upid in [task["upid"] for task in active]
    assert root.get(f"/nodes/{NODE}/tasks/{upid}/status").json()["data"]["status"] == "running"
    assert root.delete(f"/nodes/{NODE}/tasks/{upid}").ok
    assert _wait(root, upid)["exitstatus"] == "interrupted by signal"
    errors = root.get(f"/nodes/{NODE}/tasks", params={"errors": 1}).json()["data"]
    assert upid in [task["upid"] for task in errors]


def test_fault_rules_are_seeded_and_deterministic(
    root: RawClient, faults: Callable[..., dict]
) -> None:
    rule = {"match": r"^GET /version$", "error_rate": 0.5, "status": 503, "message": "flaky"}

    def run() -> list[int]:
        faults(seed=7, rules=[rule])
        return [root.get("/version").status_code for _ in range(30)]

    first, second = run(), run()
    assert first == second
    assert set(first) == {200, 503}
    response = next(r for r in (root.get("/version") for _ in range(50)) if r.status_code == 503)
    assert response.reason == "flaky"

    faults(seed=1, rules=[{"match": "^GET /nodes$", "latency_ms": 150}])
    started = time.monotonic()
    assert root.get("/nodes").ok
    assert time.monotonic() - started >= 0.15

    faults(rules=[{"match": "^GET /cluster/status$", "drop_rate": 1.0}])
    with pytest.raises(requests.ConnectionError):
        root.get("/cluster/status")


def test_fault_failed_tasks_and_offline_nodes(root: RawClient, faults: Callable[..., dict]) -> None:
    vmid = _new_guest(root)
    state = faults(fail_tasks={"count": 1, "message": "storage hiccup"})
    assert state["fail_tasks"]["count"] == 1
    failed = _wait(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/status/start").json()["data"])
    assert failed["exitstatus"] == "storage hiccup"
    ok = _wait(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/status/start").json()["data"])
    assert ok["exitstatus"] == "OK"
    faults(warn_tasks={"count": 1, "message": "disk is almost full"})
    warned = _wait(root, root.post(f"/nodes/{NODE}/qemu/{vmid}/status/reboot").json()["data"])
    assert warned["exitstatus"] == "WARNINGS: 1"
    log = root.get(f"/nodes/{NODE}/tasks/{warned['upid']}/log").json()["data"]
    assert [line["t"] for line in log[-2:]] == ["WARN: disk is almost full", "TASK WARNINGS: 1"]
    listed = root.get(f"/nodes/{NODE}/tasks", params={"statusfilter": "warning"}).json()["data"]
    assert [task["upid"] for task in listed] == [warned["upid"]]

    remote = vmid + 10
    created = root.post("/nodes/pve3/qemu", data={"vmid": remote}).json()["data"]
    assert _wait(root, created)["exitstatus"] == "OK"
    assert faults(offline_nodes=["pve3"])["offline_nodes"] == ["pve3"]
    guests = {
        g["vmid"]: g for g in root.get("/cluster/resources", params={"type": "vm"}).json()["data"]
    }
    assert guests[remote]["status"] == "unknown"
    assert guests[vmid]["status"] == "running"
    response = root.get("/nodes/pve3/status")
    assert response.status_code == 595
    nodes = {node["node"]: node["status"] for node in root.get("/nodes").json()["data"]}
    assert nodes == {"pve1": "online", "pve2": "online", "pve3": "offline"}
    cluster = root.get("/cluster/status").json()["data"]
    assert {item["name"]: item["online"] for item in cluster if item["type"] == "node"}["pve3"] == 0
    response = root.post(
        f"/nodes/{NODE}/qemu/9000/clone", data={"newid": vmid + 1, "target": "pve3"}
    )
    assert response.reason == "target node 'pve3' is not online"


def test_fault_api_rejects_bad_input(pvesim: PvesimServer, ca_file: Path) -> None:
    url = f"https://{pvesim.host}:{pvesim.port}/pvesim/faults"
    bad_rule = {"rules": [{"match": "x", "error_rate": 2}]}
    response = requests.put(url, json=bad_rule, verify=str(ca_file), timeout=10)
    assert response.json() == {"error": "rates must be between 0 and 1"}
    response = requests.put(url, json={"offline_nodes": ["pve9"]}, verify=str(ca_file), timeout=10)
    assert response.json() == {"error": "unknown nodes: pve9"}


def test_task_index_survives_a_crash(tmp_path: Path) -> None:
    """A task that was running when the process died reads back as stopped, unexpected."""
    upid = Upid(
        node="pve1",
        pid=4242,
        pstart=1000,
        starttime=1_800_000_000,
        type="qmstart",
        id="100",
        user="root@pam",
    ).encode()
    index = tmp_path / "tasks" / "index.jsonl"
    index.parent.mkdir()
    # What pvesim writes when a task starts, then a record torn by the crash.
    index.write_text(json.dumps({"upid": upid, "endtime": None}) + '\n{"upid": "UPID:pve1:to')
    reloaded = TaskManager(tmp_path, speed=1.0).get(upid)
    assert reloaded is not None
    status = TaskManager.status_item(reloaded)
    assert (status["status"], status["exitstatus"]) == ("stopped", "unexpected status")
