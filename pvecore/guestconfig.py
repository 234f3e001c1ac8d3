"""Guest config files (`/etc/pve/qemu-server/<vmid>.conf`, `/etc/pve/lxc/<vmid>.conf`).

Follows qemu-server's `parse_vm_config`/`write_vm_config`: `key: value` lines, leading `#` lines
form the URI-encoded `description`, `[PENDING]` holds pending changes (with `delete:`),
`[special:<name>]` holds special sections (cloud-init state) and `[<snapname>]` snapshots.
Also property strings (`virtio=AA:BB:..,bridge=vmbr0`) and PVE's size notation (`32G`).
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from pvecore.text import decode_text, encode_text, perl_truthy, split_list

DESCRIPTION = "description"
PENDING_SECTION = "PENDING"

_KEY_VALUE_RE = re.compile(r"([a-z][a-z0-9_\-.]*):\s*(.+?)\s*")
_SNAPSHOT_RE = re.compile(r"\[([a-z][a-z0-9_\-]+)\]\s*", re.IGNORECASE)
_SPECIAL_RE = re.compile(r"\[special:([a-z][a-z0-9_\-]*)\]\s*", re.IGNORECASE)
_PENDING_RE = re.compile(r"\[PENDING\]\s*", re.IGNORECASE)
_SIZE_RE = re.compile(r"(\d+(?:\.\d+)?)([KMGT])?")
_UNIT_FACTORS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


@dataclass
class GuestConfig:
    """A parsed guest config; each section maps keys to raw values (`description` included)."""

    current: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, dict[str, str]] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    # key -> force flag ('!key' in the `delete:` line)
    pending_delete: dict[str, bool] = field(default_factory=dict)
    special: dict[str, dict[str, str]] = field(default_factory=dict)


def config_digest(text: str) -> str:
    """PVE's config `digest`: SHA-1 hex of the raw file content."""
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def parse_pending_delete(text: str) -> dict[str, bool]:
    return {item.removeprefix("!"): item.startswith("!") for item in split_list(text)}


def render_pending_delete(pending_delete: Mapping[str, bool]) -> str:
    return ",".join(f"{'!' if pending_delete[key] else ''}{key}" for key in sorted(pending_delete))


def parse_guest_config(text: str) -> GuestConfig:
    config = GuestConfig()
    section = config.current
    in_pending = False
    description: str | None = None

    def close_section() -> None:
        if description is not None:
            section[DESCRIPTION] = description.rstrip()

    for line in text.split("\n"):
        if not line.strip():
            continue
        if _PENDING_RE.fullmatch(line):
            close_section()
            description, section, in_pending = None, config.pending, True
            continue
        special = _SPECIAL_RE.fullmatch(line)
        snapshot = _SNAPSHOT_RE.fullmatch(line)
        if special or snapshot:
            close_section()
            description, in_pending = None, False
            if special:
                section = config.special.setdefault(special.group(1), {})
            elif snapshot:
                section = config.snapshots.setdefault(snapshot.group(1), {})
            continue
        if line.startswith("#"):
            description = (description or "") + decode_text(line[1:]) + "\n"
            continue
        match = _KEY_VALUE_RE.fullmatch(line)
        if match is None:
            continue  # PVE ignores lines it cannot parse
        key, value = match.groups()
        if key == DESCRIPTION:
            description = (description or "") + decode_text(value)
        elif key == "delete":
            if in_pending:  # only allowed in [PENDING]
                config.pending_delete = parse_pending_delete(value)
        else:
            section[key] = value
    close_section()
    return config


def _render_section(values: Mapping[str, str], *, pending_delete: str = "") -> str:
    lines: list[str] = []
    description = values.get(DESCRIPTION, "")
    if perl_truthy(description):
        lines.extend("#" + encode_text(line) for line in description.rstrip("\n").split("\n"))
    entries = {key: value for key, value in values.items() if key != DESCRIPTION}
    if pending_delete:
        entries["delete"] = pending_delete
    lines.extend(f"{key}: {entries[key]}" for key in sorted(entries))
    return "".join(line + "\n" for line in lines)


def render_guest_config(config: GuestConfig) -> str:
    raw = _render_section(config.current)
    if config.pending or config.pending_delete:
        raw += f"\n[{PENDING_SECTION}]\n"
        raw += _render_section(
            config.pending, pending_delete=render_pending_delete(config.pending_delete)
        )
    for name in sorted(config.special):
        raw += f"\n[special:{name}]\n" + _render_section(config.special[name])
    for name in sorted(config.snapshots):
        raw += f"\n[{name}]\n" + _render_section(config.snapshots[name])
    return raw


def parse_property_string(text: str, default_key: str | None = None) -> dict[str, str]:
    """`key=value,key=value`; a bare value belongs to `default_key` (e.g. a disk's volume)."""
    result: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        match = re.fullmatch(r"([^=]+)=(.+)", part, re.DOTALL)
        if match:
            key, value = match.groups()
        elif default_key is not None:
            key, value = default_key, part
        else:
            raise ValueError("value without key, but schema does not define a default key")
        if key in result:
            raise ValueError(f"duplicate key in comma-separated list property: {key}")
        result[key] = value
    return result


def render_property_string(values: Mapping[str, str], default_key: str | None = None) -> str:
    """The `default_key` value first and bare, then `key=value` in the mapping's order."""
    parts = []
    if default_key is not None and default_key in values:
        parts.append(values[default_key])
    parts.extend(f"{key}={value}" for key, value in values.items() if key != default_key)
    return ",".join(parts)


def parse_size(text: str) -> int:
    """PVE's disk size notation: bytes, or a number with K, M, G or T (powers of 1024)."""
    match = _SIZE_RE.fullmatch(text)
    if match is None:
        raise ValueError(f"unable to parse size '{text}'")
    number, unit = match.groups()
    return int(Fraction(number) * _UNIT_FACTORS.get(unit or "", 1))


def format_size(size: int) -> str:
    """The largest unit that divides `size` exactly (`format_size`): 34359738368 -> '32G'.

    Like PVE, zero is divisible by everything and comes out as '0T'.
    """
    if size < 0:
        raise ValueError("size must not be negative")
    value = size
    for unit in ("", "K", "M", "G"):
        if value % 1024:
            return f"{value}{unit}"
        value //= 1024
    return f"{value}T"
