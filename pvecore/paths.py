"""ACL paths: normalisation and the set of valid paths (`PVE::AccessControl::check_path`)."""

import re

_SEGMENT = r"[A-Za-z0-9.\-_]+"
_ALLOWED_CHARS_RE = re.compile(r"[A-Za-z0-9.\-_/]+")
_VALID_PATH_RE = re.compile(
    rf"""
    /
    |/access(?:/groups(?:/{_SEGMENT})?|/realm(?:/{_SEGMENT})?)?
    |/nodes(?:/{_SEGMENT})?
    |/pool(?:/{_SEGMENT}){{0,3}}
    |/sdn(?:/{_SEGMENT}){{0,4}}
    |/storage(?:/{_SEGMENT})?
    |/vms(?:/[1-9][0-9]{{2,}})?
    |/mapping(?:/{_SEGMENT}){{0,2}}
    """,
    re.VERBOSE,
)


def normalize_acl_path(path: str) -> str:
    """Collapse repeated '/', drop a trailing '/', ensure a leading '/'.

    Raises ValueError where `normalize_path` returns undef: empty input or characters
    outside `[[:alnum:].-_/]`.
    """
    if not path:
        raise ValueError("invalid ACL path ''")
    normalized = re.sub(r"/+", "/", path)
    if normalized != "/":
        normalized = normalized.removesuffix("/")
    if not normalized.startswith("/"):
        normalized = "/" + normalized
    if _ALLOWED_CHARS_RE.fullmatch(normalized) is None:
        raise ValueError(f"invalid ACL path '{path}'")
    return normalized


def is_valid_acl_path(path: str) -> bool:
    """True if PVE accepts `path` for an ACL entry (after normalisation)."""
    try:
        normalized = normalize_acl_path(path)
    except ValueError:
        return False
    return _VALID_PATH_RE.fullmatch(normalized) is not None


def path_levels(path: str) -> list[str]:
    """Every level from '/' down to `path`: '/vms/100' -> ['/', '/vms', '/vms/100'].

    The empty path has no levels: PVE evaluates it to no roles at all.
    """
    if path == "":
        return []
    normalized = normalize_acl_path(path)
    levels = ["/"]
    current = ""
    for segment in normalized.split("/")[1:]:
        if segment:
            current = f"{current}/{segment}"
            levels.append(current)
    return levels
