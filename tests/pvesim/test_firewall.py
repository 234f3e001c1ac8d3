"""Firewall configuration: rule positions, digests, options and VM scope."""

from __future__ import annotations

import time

from tests.pvesim.pvesim_client import RawClient


def _finish(client: RawClient, upid: str) -> None:
    for _ in range(500):
        if client.get(f"/nodes/pve1/tasks/{upid}/status").json()["data"]["status"] == "stopped":
            return
        time.sleep(0.01)
    raise AssertionError(upid)


def test_vm_rules_keep_order_and_detect_concurrent_changes(root: RawClient) -> None:
    vmid = int(root.get("/cluster/nextid").json()["data"])
    _finish(root, root.post("/nodes/pve1/qemu", data={"vmid": vmid}).json()["data"])
    base = f"/nodes/pve1/qemu/{vmid}/firewall"
    for port in ("22", "80", "443"):
        root.post(
            f"{base}/rules", data={"type": "in", "action": "ACCEPT", "dport": port, "pos": 99}
        )
    rules = root.get(f"{base}/rules").json()["data"]
    assert [(r["pos"], r["dport"]) for r in rules] == [(0, "22"), (1, "80"), (2, "443")]
    assert root.put(f"{base}/rules/2", data={"moveto": 0, "comment": "tls"}).ok
    assert root.get(f"{base}/rules/0").json()["data"] == {
        "type": "in",
        "action": "ACCEPT",
        "dport": "443",
        "comment": "tls",
        "pos": 0,
    }
    digest = root.get(f"{base}/options").json()["data"]["digest"]
    assert root.put(f"{base}/options", data={"enable": 1, "digest": digest}).ok
    stale = root.put(f"{base}/options", data={"policy_in": "DROP", "digest": digest})
    assert (
        stale.reason == "detected modified configuration - file changed by other user? Try again."
    )
    assert root.get(f"{base}/options").json()["data"]["enable"] == 1
    assert root.delete(f"{base}/rules/7").reason == "no rule at position 7"
    response = root.post(f"{base}/rules", data={"type": "sideways", "action": "ACCEPT"})
    assert response.json()["errors"]["type"] == (
        "value 'sideways' does not have a value in the enumeration 'in, out, forward, group'"
    )
    _finish(root, root.delete(f"/nodes/pve1/qemu/{vmid}").json()["data"])
    _finish(root, root.post("/nodes/pve1/qemu", data={"vmid": vmid}).json()["data"])
    assert root.get(f"{base}/rules").json()["data"] == []  # the file went with the old VM


def test_security_groups(root: RawClient) -> None:
    assert root.post("/cluster/firewall/groups", data={"group": "db", "comment": "databases"}).ok
    assert root.post("/cluster/firewall/groups", data={"group": "db"}).reason == (
        "Security group 'db' already exists"
    )
    assert root.post("/cluster/firewall/groups", data={"group": "sql", "rename": "db"}).ok
    groups = {g["group"]: g for g in root.get("/cluster/firewall/groups").json()["data"]}
    assert "db" not in groups
    assert groups["sql"]["comment"] == "databases"
