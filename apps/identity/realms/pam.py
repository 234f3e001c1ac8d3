"""The PAM realm: passwords of this host's accounts, for listed users and groups only."""

import grp
import pwd

import pam

from apps.identity.models import Realm
from apps.identity.realms.options import option_value


def _listed(text: object) -> set[str]:
    return {item.strip() for item in str(text or "").replace(";", ",").split(",") if item.strip()}


def is_allowed(realm: Realm, name: str) -> bool:
    """Only accounts the operator listed, directly or through a Unix group, may log in."""
    if name in _listed(option_value(realm.type, realm.options, "allowed-users")):
        return True
    allowed_groups = _listed(option_value(realm.type, realm.options, "allowed-groups"))
    if not allowed_groups:
        return False
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        return False
    primary = grp.getgrgid(account.pw_gid).gr_name
    members_of = {group.gr_name for group in grp.getgrall() if name in group.gr_mem}
    return bool(allowed_groups & (members_of | {primary}))


def check_password(realm: Realm, name: str, password: str) -> bool:
    if not is_allowed(realm, name):
        return False
    service = str(option_value(realm.type, realm.options, "service"))
    return pam.pam().authenticate(name, password, service=service)
