"""Realm options per type, with PVE's option names (`pveum realm add/modify`).

Portal-only options (PAM's allow lists) use names PVE does not have, marked below.
"""

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Option:
    kind: type  # str, int or bool
    required: bool = False
    choices: tuple[str, ...] = ()
    default: object = None
    check: Callable[[str], None] | None = None  # raises ValueError for a bad value


def _check_issuer_url(url: str) -> None:
    """An issuer is an https URL without query or fragment (OIDC Discovery); plain http only on
    this host's loopback, where the test IdPs and local development run."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"value '{url}' is not an http(s) URL")
    if parts.query or parts.fragment:
        raise ValueError("an issuer URL has no query or fragment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("an issuer URL must use https (http only for a loopback address)")


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _pattern_check(pattern: str) -> Callable[[str], None]:
    compiled = re.compile(pattern)

    def check(value: str) -> None:
        if not compiled.fullmatch(value):
            raise ValueError(f"value '{value}' does not match the regex pattern")

    return check


_DIRECTORY_OPTIONS = {
    "server1": Option(str),
    "server2": Option(str),
    "port": Option(int),
    "mode": Option(str, choices=("ldap", "ldaps", "ldap+starttls"), default="ldap"),
    "verify": Option(bool, default=False),
    "capath": Option(str),
    "base_dn": Option(str),
    "user_attr": Option(str),
    "bind_dn": Option(str),
    "filter": Option(str),
    "user_classes": Option(str, default="inetorgperson,posixaccount,person,user"),
    "sync_attributes": Option(str),
    "group_dn": Option(str),
    "group_name_attr": Option(str, default="cn"),
    "group_filter": Option(str),
    "group_classes": Option(str, default="groupOfNames,group,univentionGroup,ipausergroup"),
    "case-sensitive": Option(bool, default=True),
    "sync-defaults-options": Option(str),
}

OPTIONS_BY_TYPE: Mapping[str, Mapping[str, Option]] = {
    "pve": {},
    "pam": {
        "service": Option(str, default="login"),
        # Portal-only: PAM is off unless the operator lists who may use it.
        "allowed-users": Option(str, default=""),
        "allowed-groups": Option(str, default=""),
    },
    "ldap": {
        **_DIRECTORY_OPTIONS,
        "server1": Option(str, required=True),
        "base_dn": Option(str, required=True),
        "user_attr": Option(str, required=True),
    },
    "ad": {
        **_DIRECTORY_OPTIONS,
        "server1": Option(str, required=True),
        "domain": Option(str, required=True),
        "user_attr": Option(str, default="sAMAccountName"),
    },
    "openid": {
        "issuer-url": Option(str, required=True, check=_check_issuer_url),
        "client-id": Option(str, required=True),
        # Accepted here (pveum, the API) but kept encrypted in Realm.client_key, never in options.
        "client-key": Option(str),
        # subject, username, email or any claim's name (PVE's default: subject).
        "username-claim": Option(str, default="subject"),
        "autocreate": Option(bool, default=False),
        "groups-claim": Option(str, check=_pattern_check(r"[A-Za-z0-9.\-_]+")),
        "groups-autocreate": Option(bool, default=False),
        "groups-overwrite": Option(bool, default=False),
        "scopes": Option(str, default="email profile"),
        "prompt": Option(str, check=_pattern_check(r"\S+")),
        "acr-values": Option(str, check=_pattern_check(r"[^\x00-\x1F\x7F <>#\"]*")),
        "query-userinfo": Option(bool, default=True),
    },
}

SECRET_OPTIONS = frozenset({"client-key"})


def clean_realm_options(realm_type: str, options: Mapping[str, object]) -> dict[str, object]:
    """Validate options for a realm type and coerce their values; ValidationError per option."""
    known = OPTIONS_BY_TYPE[realm_type]
    errors: dict[str, str] = {}
    cleaned: dict[str, object] = {}
    for name, value in options.items():
        option = known.get(name)
        if option is None:
            errors[name] = f"property is not defined in schema for realm type '{realm_type}'"
            continue
        try:
            cleaned[name] = _coerce(option, value)
        except (TypeError, ValueError) as error:
            errors[name] = str(error)
    for name, option in known.items():
        if option.required and name not in cleaned and name not in errors:
            errors[name] = "property is missing and it is not optional"
    if errors:
        raise ValidationError(errors)
    return cleaned


def option_value(realm_type: str, options: Mapping[str, object], name: str) -> object:
    """An option's value, or its documented default."""
    if name in options:
        return options[name]
    return OPTIONS_BY_TYPE[realm_type][name].default


def _coerce(option: Option, value: object) -> object:
    if option.kind is bool:
        if isinstance(value, bool):
            return value
        if str(value) in {"1", "true", "yes", "on"}:
            return True
        if str(value) in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"type check ('boolean') failed - got '{value}'")
    if option.kind is int:
        try:
            return int(str(value))
        except ValueError:
            raise ValueError(f"type check ('integer') failed - got '{value}'") from None
    text = str(value)
    if option.choices and text not in option.choices:
        raise ValueError(
            f"value '{text}' does not have a value in the enumeration '{', '.join(option.choices)}'"
        )
    if option.check is not None:
        option.check(text)
    return text
