"""User, token, group, role and pool identifiers as PVE validates them.

Regexes follow PVE::Auth::Plugin (`user_regex`, `realm_regex`) and PVE::AccessControl
(`token_full_regex`, `verify_groupname`, `verify_rolename`, `verify_poolname`).
"""

import re

REALM_PATTERN = r"[A-Za-z][A-Za-z0-9.\-_]+"
USER_NAME_PATTERN = r"[^\s:/]+"
TOKEN_NAME_PATTERN = REALM_PATTERN  # PVE reuses the realm regex for token names

MAX_USERID_LENGTH = 64

_USERID_RE = re.compile(rf"({USER_NAME_PATTERN})@({REALM_PATTERN})")
_TOKENID_RE = re.compile(rf"({USER_NAME_PATTERN}@{REALM_PATTERN})!({TOKEN_NAME_PATTERN})")
_SIMPLE_NAME_RE = re.compile(r"[A-Za-z0-9.\-_]+")
# Nested pools (PVE 8+) allow up to three levels: "a/b/c".
_POOL_NAME_RE = re.compile(r"[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}")


def split_userid(userid: str) -> tuple[str, str]:
    """Split `name@realm` into `(name, realm)`; raise ValueError like `verify_username`."""
    if len(userid) > MAX_USERID_LENGTH:
        raise ValueError(f"user name '{userid}' is too long")
    match = _USERID_RE.fullmatch(userid)
    if match is None:
        raise ValueError(f"value '{userid}' does not look like a valid user name")
    return match.group(1), match.group(2)


def is_userid(text: str) -> bool:
    """True for a syntactically valid `name@realm`."""
    return len(text) <= MAX_USERID_LENGTH and _USERID_RE.fullmatch(text) is not None


def split_tokenid(tokenid: str) -> tuple[str, str]:
    """Split `user@realm!token` into `(userid, tokenname)` (`PVE::AccessControl::split_tokenid`)."""
    match = _TOKENID_RE.fullmatch(tokenid)
    if match is None:
        raise ValueError(
            f"'{tokenid}' is not a valid token ID - not able to split into user and token parts"
        )
    return match.group(1), match.group(2)


def is_tokenid(text: str) -> bool:
    """True for a syntactically valid full token id `user@realm!token`."""
    return _TOKENID_RE.fullmatch(text) is not None


def is_valid_group_name(name: str) -> bool:
    return _SIMPLE_NAME_RE.fullmatch(name) is not None


def is_valid_role_name(name: str) -> bool:
    return _SIMPLE_NAME_RE.fullmatch(name) is not None


def is_valid_pool_name(name: str) -> bool:
    return _POOL_NAME_RE.fullmatch(name) is not None
