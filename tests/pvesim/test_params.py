"""Parameter verification: PVE's messages, per parameter, over the API and in the validator."""

from __future__ import annotations

import pytest

from pvesim.errors import PveError
from pvesim.params import NODE, VMID, Param, opt, validate
from tests.pvesim.pvesim_client import RawClient


def _errors(declared: tuple[Param, ...], raw: dict[str, str]) -> dict[str, str]:
    with pytest.raises(PveError) as failure:
        validate(declared, raw)
    assert failure.value.status == 400
    assert failure.value.message == "Parameter verification failed."
    return failure.value.errors or {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", "type check ('integer') failed - got 'abc'"),
        ("99", "value must have a minimum value of 100"),
        ("1000000000", "value must have a maximum value of 999999999"),
        ("0100", "invalid format - value does not look like a valid VM ID"),
    ],
)
def test_vmid_messages(raw: str, message: str) -> None:
    assert _errors((VMID,), {"vmid": raw}) == {"vmid": message}


def test_typed_values_and_booleans() -> None:
    declared = (VMID, opt("full", "boolean"), opt("ratio", "number"), opt("name"))
    values = validate(declared, {"vmid": "100", "full": "yes", "ratio": "1.5", "name": "x"})
    assert values == {"vmid": 100, "full": True, "ratio": 1.5, "name": "x"}
    assert validate(declared, {"vmid": "100", "full": "OFF"}) == {"vmid": 100, "full": False}
    assert _errors(declared, {"vmid": "100", "full": "maybe"}) == {
        "full": "type check ('boolean') failed - got 'maybe'"
    }


def test_missing_unknown_enum_pattern_and_length() -> None:
    declared = (
        NODE,
        opt("mode", enum=("snapshot", "suspend", "stop")),
        opt("size", pattern=r"\+?\d+(\.\d+)?[KMGT]?"),
        opt("comment", max_length=5),
        opt("password", min_length=8),
    )
    errors = _errors(
        declared,
        {"mode": "fast", "size": "ten", "comment": "too long", "password": "short", "bogus": "1"},
    )
    assert errors == {
        "node": "property is missing and it is not optional",
        "mode": "value 'fast' does not have a value in the enumeration 'snapshot, suspend, stop'",
        "size": "value does not match the regex pattern",
        "comment": "value may only be 5 characters long",
        "password": "value must be at least 8 characters long",
        "bogus": "property is not defined in schema and the schema does not allow additional"
        " properties",
    }


def test_indexed_parameters_follow_their_range() -> None:
    declared = (opt("net[n]", indexed=32),)
    assert validate(declared, {"net0": "virtio,bridge=vmbr0", "net31": "e1000"})
    assert "net32" in _errors(declared, {"net32": "virtio"})


def test_api_answers_400_with_reason_and_errors(root: RawClient) -> None:
    response = root.get("/cluster/nextid", params={"vmid": "abc"})
    assert response.status_code == 400
    assert response.reason == "Parameter verification failed."
    body = response.json()
    assert body["data"] is None
    assert body["errors"] == {"vmid": "type check ('integer') failed - got 'abc'"}
    assert body["message"].startswith("Parameter verification failed.")

    response = root.get("/cluster/resources", params={"type": "vms"})
    assert response.json()["errors"] == {
        "type": "value 'vms' does not have a value in the enumeration 'vm, storage, node, sdn'"
    }
    response = root.post("/nodes/pve1/qemu/9000/clone", data={"newid": "101", "colour": "red"})
    assert response.json()["errors"] == {
        "colour": "property is not defined in schema and the schema does not allow additional"
        " properties"
    }
    response = root.post("/nodes/pve1/qemu/9000/clone", data={})
    assert response.json()["errors"] == {"newid": "property is missing and it is not optional"}


def test_json_bodies_and_uri_conflicts(root: RawClient) -> None:
    response = root.post("/nodes/pve1/qemu/9000/clone", json={"newid": "x"})
    assert response.json()["errors"] == {"newid": "type check ('integer') failed - got 'x'"}
    response = root.post("/nodes/pve1/qemu/9000/clone", data={"newid": 150, "vmid": 9001})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "vmid": "duplicate parameter (already defined in URI) with conflicting values!"
    }


def test_handler_errors_and_unknown_paths(root: RawClient) -> None:
    response = root.get("/nodes/pve1/qemu/999/config")
    assert response.status_code == 500
    assert response.reason == "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist"
    assert response.json() == {
        "data": None,
        "message": "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist\n",
    }
    response = root.get("/cluster/nextid", params={"vmid": 9000})
    assert response.json()["errors"] == {"vmid": "VM 9000 already exists"}
    response = root.get("/nodes/pve1/bogus")
    assert response.status_code == 501
    assert response.reason == "Method 'GET /nodes/pve1/bogus' not implemented"
    assert response.headers["Server"] == "pve-api-daemon/3.0"
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_nextid_is_a_string(root: RawClient) -> None:
    data = root.get("/cluster/nextid").json()["data"]
    assert isinstance(data, str)
    assert int(data) >= 100
