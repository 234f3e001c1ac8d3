"""Declarative parameter tables and PVE's parameter verification (pve-common JSONSchema.pm).

Every endpoint declares its parameters as a tuple of :class:`Param`; :func:`validate` turns the
raw string values of a request into typed values or raises a 400 with PVE's per-parameter
messages. Named formats are checked by small local verifiers with PVE's error texts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pvesim.errors import param_error

_INTEGER_RE = re.compile(r"^[+-]?\d+$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_TRUE_RE = re.compile(r"^(1|true|yes|on)$", re.IGNORECASE)
_FALSE_RE = re.compile(r"^(0|false|no|off)$", re.IGNORECASE)


@dataclass(frozen=True)
class Param:
    """One parameter as the PVE schema declares it."""

    name: str
    type: str = "string"  # string | integer | number | boolean
    optional: bool = False
    enum: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None
    format: str | None = None
    max_length: int | None = None
    min_length: int | None = None
    default: Any = None
    # For schema names like "net[n]": how many numbered keys exist (net0 .. net{indexed-1}).
    indexed: int | None = None


def opt(name: str, type_: str = "string", **kwargs: Any) -> Param:
    """Shorthand for an optional parameter."""
    return Param(name, type_, optional=True, **kwargs)


# Parameters that recur in most endpoints.
NODE = Param("node", format="pve-node")
VMID = Param("vmid", "integer", format="pve-vmid", minimum=100, maximum=999999999)
STORAGE = Param("storage", format="pve-storage-id")
SNAPNAME = Param("snapname", format="pve-configid", max_length=40)
USERID = Param("userid", format="pve-userid", max_length=64)
TOKENID_PATTERN = r"(?^:[A-Za-z][A-Za-z0-9\.\-_]+)"


def _userid_ok(value: str) -> bool:
    return bool(re.fullmatch(r"[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+", value)) and len(value) <= 64


def _check_node(value: str) -> str | None:
    if re.fullmatch(r"[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?", value):
        return None
    return "value does not look like a valid node name"


def _check_vmid(value: str) -> str | None:
    return (
        None
        if re.fullmatch(r"[1-9][0-9]{2,8}", value)
        else "value does not look like a valid VM ID"
    )


def _check_storage_id(value: str) -> str | None:
    if re.fullmatch(r"[a-z][a-z0-9\-_.]*[a-z0-9]", value, re.IGNORECASE):
        return None
    return f"storage ID '{value}' contains illegal characters"


def _check_configid(value: str) -> str | None:
    if re.fullmatch(r"[a-z][a-z0-9_]+", value, re.IGNORECASE):
        return None
    return f"invalid configuration ID '{value}'"


def _check_configid_list(value: str) -> str | None:
    for item in re.split(r"[,;\s]+", value.strip()):
        if item and (message := _check_configid(item)):
            return message
    return None


def _check_userid(value: str) -> str | None:
    return None if _userid_ok(value) else f"value '{value}' does not look like a valid user name"


def _check_tokenid(value: str) -> str | None:
    userid, sep, name = value.rpartition("!")
    if sep and _userid_ok(userid) and re.fullmatch(r"[A-Za-z][A-Za-z0-9.\-_]+", name):
        return None
    return f"value '{value}' does not look like a valid token ID"


def _check_realm(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9.\-_]+", value):
        return None
    return f"value '{value}' does not look like a valid realm name"


def _check_group_or_role(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9.\-_]+", value):
        return None
    return f"invalid characters in '{value}'"


def _check_poolid(value: str) -> str | None:
    if re.fullmatch(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-]+){0,2}", value):
        return None
    return f"invalid pool ID '{value}'"


def _check_volume_id(value: str) -> str | None:
    return (
        None
        if re.fullmatch(r"[a-z][a-z0-9\-_.]*[a-z0-9]:.+", value, re.I)
        else (f"unable to parse volume ID '{value}'")
    )


def _check_list(check: Callable[[str], str | None]) -> Callable[[str], str | None]:
    def check_each(value: str) -> str | None:
        for item in re.split(r"[,;\s]+", value.strip()):
            if item and (message := check(item)):
                return message
        return None

    return check_each


def _check_email(value: str) -> str | None:
    return (
        None
        if re.fullmatch(r"[^\s@]+@[^\s@]+", value)
        else f"value '{value}' does not look like a valid email address"
    )


def _check_ha_sid(value: str) -> str | None:
    return (
        None
        if re.fullmatch(r"(?:(?:vm|ct):)?[1-9][0-9]{2,8}", value)
        else (f"unable to parse service id '{value}'")
    )


FORMAT_CHECKS: dict[str, Callable[[str], str | None]] = {
    "pve-node": _check_node,
    "pve-vmid": _check_vmid,
    "pve-storage-id": _check_storage_id,
    "pve-configid": _check_configid,
    "pve-configid-list": _check_configid_list,
    "pve-userid": _check_userid,
    "pve-tokenid": _check_tokenid,
    "pve-realm": _check_realm,
    "pve-groupid": _check_group_or_role,
    "pve-roleid": _check_group_or_role,
    "pve-poolid": _check_poolid,
    "pve-volume-id": _check_volume_id,
    "pve-ha-resource-or-vm-id": _check_ha_sid,
    "pve-volume-id-or-qm-path": _check_volume_id,
    "email-opt": _check_email,
    "pve-userid-list": _check_list(_check_userid),
    "pve-groupid-list": _check_list(_check_group_or_role),
    "pve-roleid-list": _check_list(_check_group_or_role),
    "pve-tokenid-list": _check_list(_check_tokenid),
    "pve-vmid-list": _check_list(_check_vmid),
    "pve-storage-id-list": _check_list(_check_storage_id),
    "pve-node-list": _check_list(_check_node),
    "pve-priv-list": _check_list(_check_group_or_role),
}


def _perl_pattern_to_python(pattern: str) -> str:
    # Schema patterns come from Perl's qr// stringification: "(?^:...)" means "default flags".
    return pattern.replace("(?^:", "(?:").replace("(?^i:", "(?i:")


def _format_error(param: Param, raw: str) -> str | None:
    check = FORMAT_CHECKS.get(param.format or "")
    message = check(raw) if check else None
    return f"invalid format - {message}" if message else None


def _convert(param: Param, raw: str) -> tuple[Any, str | None]:
    """Check one value the way JSONSchema.pm's check_type/check_prop do; return (value, error)."""
    if param.type == "boolean":
        if _TRUE_RE.match(raw):
            return True, None
        if _FALSE_RE.match(raw):
            return False, None
        return None, f"type check ('boolean') failed - got '{raw}'"
    if param.type in ("integer", "number"):
        regex = _INTEGER_RE if param.type == "integer" else _NUMBER_RE
        if not regex.match(raw):
            return None, f"type check ('{param.type}') failed - got '{raw}'"
        value: Any = int(raw) if param.type == "integer" else float(raw)
        if param.minimum is not None and value < param.minimum:
            return None, f"value must have a minimum value of {_number_text(param.minimum)}"
        if param.maximum is not None and value > param.maximum:
            return None, f"value must have a maximum value of {_number_text(param.maximum)}"
        if message := _format_error(param, raw):
            return None, message
        if param.enum is not None and raw not in param.enum:
            return (
                None,
                f"value '{raw}' does not have a value in the enumeration '{', '.join(param.enum)}'",
            )
        return value, None
    if param.max_length is not None and len(raw) > param.max_length:
        return None, f"value may only be {param.max_length} characters long"
    if param.min_length is not None and len(raw) < param.min_length:
        return None, f"value must be at least {param.min_length} characters long"
    if message := _format_error(param, raw):
        return None, message
    if param.pattern is not None and not re.fullmatch(_perl_pattern_to_python(param.pattern), raw):
        return None, "value does not match the regex pattern"
    if param.enum is not None and raw not in param.enum:
        return (
            None,
            f"value '{raw}' does not have a value in the enumeration '{', '.join(param.enum)}'",
        )
    return raw, None


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


_INDEXED_NAME_RE = re.compile(r"([a-z_]+)(\d+)")


def _indexed_param(by_name: Mapping[str, Param], name: str) -> Param | None:
    match = _INDEXED_NAME_RE.fullmatch(name)
    if match is None:
        return None
    param = by_name.get(f"{match.group(1)}[n]")
    if param is None or param.indexed is None or int(match.group(2)) >= param.indexed:
        return None
    return param


def validate(declared: Iterable[Param], raw: Mapping[str, str]) -> dict[str, Any]:
    """Validate raw request values against the declared parameters (PVE's rules and texts).

    Returns the typed values (defaults are not filled in; handlers apply them, as PVE does).
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    by_name = {param.name: param for param in declared}
    for name, param in by_name.items():
        if param.indexed is None and name not in raw and not param.optional:
            errors[name] = "property is missing and it is not optional"
    for name, text in raw.items():
        param = by_name.get(name) or _indexed_param(by_name, name)
        if param is None:
            errors[name] = (
                "property is not defined in schema and the schema does not allow additional"
                " properties"
            )
            continue
        value, error = _convert(param, text)
        if error:
            errors[name] = error
        else:
            values[name] = value
    if errors:
        raise param_error(errors)
    return values
