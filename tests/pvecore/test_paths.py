"""ACL path rules (`normalize_path`, `check_path`, FACTS.md 11.3 and 9)."""

import pytest

from pvecore.paths import is_valid_acl_path, normalize_acl_path, path_levels


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("/", "/"),
        ("//", "/"),
        ("/vms/100/", "/vms/100"),
        ("//vms///100", "/vms/100"),
        ("vms/100", "/vms/100"),
        ("/storage/local-lvm", "/storage/local-lvm"),
    ],
)
def test_normalize(raw: str, normalized: str) -> None:
    assert normalize_acl_path(raw) == normalized


@pytest.mark.parametrize("raw", ["", "/vms/1 00", "/vms/100:", "/pool/ä"])
def test_normalize_refuses(raw: str) -> None:
    with pytest.raises(ValueError, match="invalid ACL path"):
        normalize_acl_path(raw)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/access",
        "/access/groups",
        "/access/groups/tenant-a",
        "/access/realm",
        "/access/realm/pve",
        "/nodes",
        "/nodes/pve1",
        "/pool",
        "/pool/a",
        "/pool/a/b/c",
        "/sdn/zones/zone1/vnet1",
        "/storage",
        "/storage/local",
        "/vms",
        "/vms/100",
        "/vms/999999999",
        "/mapping",
        "/mapping/pci",
        "/mapping/pci/gpu0",
        "/vms/100/",
    ],
)
def test_valid_paths(path: str) -> None:
    assert is_valid_acl_path(path)


@pytest.mark.parametrize(
    "path",
    ["/users", "/vms/99", "/vms/0100", "/vms/abc", "/pool/a/b/c/d", "/nodes/a/b", "/x", ""],
)
def test_invalid_paths(path: str) -> None:
    assert not is_valid_acl_path(path)


@pytest.mark.parametrize(
    ("path", "levels"),
    [
        ("/", ["/"]),
        ("/vms", ["/", "/vms"]),
        ("/vms/100", ["/", "/vms", "/vms/100"]),
        ("/pool/a/b/", ["/", "/pool", "/pool/a", "/pool/a/b"]),
        ("", []),
    ],
)
def test_path_levels(path: str, levels: list[str]) -> None:
    assert path_levels(path) == levels
