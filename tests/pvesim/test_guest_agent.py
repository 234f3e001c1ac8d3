"""The QEMU guest agent: it answers only for a running VM whose config enables it; passwords it
sets land hashed in the simulated guest (DIR/guest-agent/<vmid>.json); PVE 9's privileges."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests

from pvesim.api.agent import password_matches
from tests.pvesim.pvesim_client import RawClient, pinned_ca_file
from tests.pvesim_server import PvesimServer

NODE = "pve1"


def _run(client: RawClient, response: requests.Response) -> None:
    assert response.status_code == 200, (response.status_code, response.reason)
    upid = response.json()["data"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = client.get(f"/nodes/{NODE}/tasks/{upid}/status").json()["data"]
        if status["status"] == "stopped":
            assert status["exitstatus"] == "OK", status
            return
        time.sleep(0.01)
    raise AssertionError(upid)


@pytest.fixture
def vm(root: RawClient) -> str:
    """A stopped clone of the demo template 9000, which enables the agent (`agent: 1`)."""
    vmid = int(root.get("/cluster/nextid").json()["data"])
    _run(root, root.post(f"/nodes/{NODE}/qemu/9000/clone", data={"newid": vmid}))
    return f"/nodes/{NODE}/qemu/{vmid}"


def _shadow(pvesim: PvesimServer, base: str) -> dict[str, str]:
    vmid = base.rsplit("/", 1)[1]
    return json.loads((pvesim.data_dir / "guest-agent" / f"{vmid}.json").read_text())


def test_a_running_vms_agent_answers_and_sets_passwords(
    pvesim: PvesimServer, root: RawClient, vm: str
) -> None:
    _run(root, root.post(f"{vm}/status/start"))
    assert root.post(f"{vm}/agent/ping").json() == {"data": {"result": {}}}
    info = root.get(f"{vm}/agent/info").json()["data"]["result"]
    assert "guest-set-user-password" in {command["name"] for command in info["supported_commands"]}

    answer = root.post(
        f"{vm}/agent/set-user-password", data={"username": "debian", "password": "s3cret-pw"}
    )
    assert answer.json() == {"data": {"result": {}}}
    crypted = "$6$salt$Dx2tJ0Yrb5hY"
    root.post(
        f"{vm}/agent/set-user-password",
        data={"username": "root", "password": crypted, "crypted": 1},
    )
    shadow = _shadow(pvesim, vm)
    assert password_matches(shadow["debian"], "s3cret-pw")
    assert not password_matches(shadow["debian"], "other-pw")
    assert "s3cret-pw" not in json.dumps(shadow)
    assert shadow["root"] == crypted

    _run(root, root.post(f"{vm}/status/stop"))
    _run(root, root.delete(vm))
    assert not (pvesim.data_dir / "guest-agent" / f"{vm.rsplit('/', 1)[1]}.json").exists()


def test_the_agent_answers_only_a_running_vm_that_enables_it(root: RawClient, vm: str) -> None:
    vmid = vm.rsplit("/", 1)[1]
    stopped = root.post(f"{vm}/agent/ping")
    assert (stopped.status_code, stopped.reason) == (500, f"VM {vmid} is not running")

    _run(root, root.post(f"{vm}/status/start"))
    _run(root, root.post(f"{vm}/status/suspend"))
    paused = root.post(
        f"{vm}/agent/set-user-password", data={"username": "root", "password": "pw-12"}
    )
    assert (paused.status_code, paused.reason) == (500, "QEMU guest agent is not running")
    _run(root, root.post(f"{vm}/status/resume"))

    assert root.put(f"{vm}/config", data={"agent": "enabled=0,fstrim_cloned_disks=1"}).ok
    disabled = root.get(f"{vm}/agent/info")
    assert (disabled.status_code, disabled.reason) == (500, "No QEMU guest agent configured")
    assert root.put(f"{vm}/config", data={"delete": "agent"}).ok
    assert root.post(f"{vm}/agent/ping").reason == "No QEMU guest agent configured"

    short = root.post(f"{vm}/agent/set-user-password", data={"username": "root", "password": "pw"})
    assert short.status_code == 400
    assert "password" in short.json()["errors"]


def test_setting_a_password_needs_unrestricted_agent_access(
    pvesim: PvesimServer, root: RawClient, vm: str, tmp_path: Path
) -> None:
    vmid = vm.rsplit("/", 1)[1]
    _run(root, root.post(f"{vm}/status/start"))
    userid = f"agent{uuid.uuid4().hex[:6]}@pve"
    assert root.post("/access/users", data={"userid": userid, "password": "user-pw-1"}).ok
    assert root.put(
        "/access/acl", data={"path": f"/vms/{vmid}", "users": userid, "roles": "PVEVMUser"}
    ).ok
    user = RawClient(pvesim, pinned_ca_file(pvesim, tmp_path))
    user.login(userid, "user-pw-1")

    # PVEVMUser holds VM.GuestAgent.Audit (enough to ping), not VM.GuestAgent.Unrestricted.
    assert user.post(f"{vm}/agent/ping").ok
    refused = user.post(
        f"{vm}/agent/set-user-password", data={"username": "root", "password": "pw-123"}
    )
    assert refused.status_code == 403
    assert "VM.GuestAgent.Unrestricted" in refused.reason
