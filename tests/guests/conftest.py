"""A registered pvesim cluster with a fresh guest cloned from its template."""

import time
import uuid

import pytest

from apps.clusters.services import cluster_register, inventory_sync
from tests.services.pve_access import make_token


def wait_for_task(root, upid: str, timeout: float = 30.0) -> dict:
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = root.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        time.sleep(0.05)
    raise AssertionError(f"task {upid} did not finish")


@pytest.fixture
def cluster(pvesim, pvesim_root):
    token = make_token(pvesim_root)
    registered = cluster_register(
        name=f"sim{uuid.uuid4().hex[:6]}",
        api_addresses=[f"{pvesim.host}:{pvesim.port}"],
        token_id=token.token_id,
        token_secret=token.secret,
        fingerprint=pvesim.fingerprint,
    )
    inventory_sync(cluster=registered)
    return registered


@pytest.fixture
def cloned_vmid(pvesim_root) -> int:
    """A new, stopped VM cloned from the demo template 9000 (directly on PVE)."""
    vmid = int(pvesim_root.cluster.nextid.get())
    upid = pvesim_root.nodes("pve1").qemu(9000).clone.post(newid=vmid, name=f"vm{vmid}")
    assert wait_for_task(pvesim_root, upid)["exitstatus"] == "OK"
    return vmid
