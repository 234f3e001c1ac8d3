"""Guest config files, property strings and sizes (qemu-server parse_vm_config/write_vm_config,
PVE::JSONSchema parse_property_string/parse_size/format_size)."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pvecore.guestconfig import (
    GuestConfig,
    config_digest,
    format_size,
    parse_guest_config,
    parse_property_string,
    parse_size,
    render_guest_config,
    render_property_string,
)

CONFIG = """\
#Web server for tenant %C3%A9cole
#docs%3A https%3A//example.com/100%25
boot: order=scsi0;net0
cores: 2
memory: 2048
net0: virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1
parent: before-upgrade
scsi0: local-lvm:vm-100-disk-0,size=32G

[PENDING]
delete: !net1,serial0
memory: 4096

[special:cloudinit]
ipconfig0: ip=dhcp

[before-upgrade]
#first snapshot
cores: 1
memory: 2048
scsi0: local-lvm:vm-100-disk-0,size=32G
snaptime: 1767225600
"""


def test_parse_sections() -> None:
    cfg = parse_guest_config(CONFIG)
    assert cfg.current["description"] == (
        "Web server for tenant école\ndocs: https://example.com/100%"
    )
    assert cfg.current["net0"] == "virtio=BC:24:11:2A:3B:4C,bridge=vmbr0,firewall=1"
    assert cfg.pending == {"memory": "4096"}
    assert cfg.pending_delete == {"net1": True, "serial0": False}
    assert cfg.special == {"cloudinit": {"ipconfig0": "ip=dhcp"}}
    assert cfg.snapshots["before-upgrade"]["description"] == "first snapshot"
    assert cfg.snapshots["before-upgrade"]["snaptime"] == "1767225600"


def test_render_is_canonical_and_round_trips() -> None:
    assert render_guest_config(parse_guest_config(CONFIG)) == CONFIG


def test_parse_ignores_noise_and_misplaced_delete() -> None:
    cfg = parse_guest_config("cores: 2\ndelete: net0\nnot a line\nname:\nmemory:  512  \n")
    assert cfg.current == {"cores": "2", "memory": "512"}
    assert cfg.pending_delete == {}


def test_render_sorts_keys_and_skips_empty_pending() -> None:
    cfg = GuestConfig(current={"name": "web", "cores": "1", "description": "a\n\nb"})
    assert render_guest_config(cfg) == "#a\n#\n#b\ncores: 1\nname: web\n"


def test_digest_is_sha1_hex_of_the_raw_text() -> None:
    assert config_digest("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert config_digest("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert (
        config_digest("name: é\n")
        == hashlib.sha1("name: é\n".encode(), usedforsecurity=False).hexdigest()
    )


@pytest.mark.parametrize(
    ("text", "default_key", "parsed"),
    [
        (
            "virtio=BC:24:11:2A:3B:4C,bridge=vmbr0",
            None,
            {"virtio": "BC:24:11:2A:3B:4C", "bridge": "vmbr0"},
        ),
        (
            "local-lvm:vm-100-disk-0,size=32G",
            "file",
            {"file": "local-lvm:vm-100-disk-0", "size": "32G"},
        ),
        (
            "size=32G,local-lvm:vm-100-disk-0",
            "file",
            {"size": "32G", "file": "local-lvm:vm-100-disk-0"},
        ),
        ("order=scsi0;net0", None, {"order": "scsi0;net0"}),
        ("ip=dhcp,,", None, {"ip": "dhcp"}),
    ],
)
def test_parse_property_string(text: str, default_key: str | None, parsed: dict[str, str]) -> None:
    assert parse_property_string(text, default_key) == parsed


def test_property_string_errors() -> None:
    with pytest.raises(ValueError, match="duplicate key in comma-separated list property: size"):
        parse_property_string("size=1G,size=2G")
    with pytest.raises(ValueError, match="does not define a default key"):
        parse_property_string("local-lvm:vm-100-disk-0")
    with pytest.raises(ValueError, match="duplicate key"):
        parse_property_string("a,b", "file")


def test_render_property_string_puts_default_key_first() -> None:
    values = {"size": "32G", "file": "local-lvm:vm-100-disk-0", "ssd": "1"}
    assert render_property_string(values, "file") == "local-lvm:vm-100-disk-0,size=32G,ssd=1"


_prop_keys = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=8)
_prop_values = st.text(
    st.characters(codec="utf-8", exclude_characters=","), min_size=1, max_size=12
).filter(lambda v: v.strip() != "")


@given(st.dictionaries(_prop_keys, _prop_values, max_size=6), st.booleans())
def test_property_string_round_trip(values: dict[str, str], with_default: bool) -> None:
    default_key = None
    if with_default and values:
        # A bare value must not itself look like key=value.
        default_key = next(iter(values))
        values[default_key] = values[default_key].replace("=", "")
        if not values[default_key].strip():
            values[default_key] = "x"
    text = render_property_string(values, default_key)
    assert parse_property_string(text, default_key) == values


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("32G", 34359738368),
        ("512M", 536870912),
        ("1.5G", 1610612736),
        ("4096", 4096),
        ("1T", 2**40),
        ("8K", 8192),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "32GB", "1e3", "-1G", "G"])
def test_parse_size_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="unable to parse size"):
        parse_size(text)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (34359738368, "32G"),
        (1610612736, "1536M"),
        (1000, "1000"),
        (8192, "8K"),
        (2**42, "4T"),
        (0, "0T"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


@given(st.integers(1, 2**50))
def test_size_round_trip(size: int) -> None:
    assert parse_size(format_size(size)) == size
