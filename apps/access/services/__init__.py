"""Access services: every change to roles, groups, ACL entries, pools and API tokens.

All are keyword-only, validate like PVE (errors as ValidationError with PVE's wording), write
one audit event in the same transaction and call `access_changed()`: this process sees the
change on its next check, other processes within `compiled.VERSION_RECHECK_SECONDS`.
"""

from apps.access.services.accounts import account_add, account_delete
from apps.access.services.acl import acl_delete, acl_modify, acl_remove_subject
from apps.access.services.groups import group_create, group_delete, group_modify
from apps.access.services.pools import pool_create, pool_delete, pool_modify, pool_set_guest
from apps.access.services.roles import role_create, role_delete, role_modify
from apps.access.services.tokens import (
    USER_EXPIRY,
    token_authenticate,
    token_create,
    token_delete,
    token_import,
)

__all__ = [
    "USER_EXPIRY",
    "account_add",
    "account_delete",
    "acl_delete",
    "acl_modify",
    "acl_remove_subject",
    "group_create",
    "group_delete",
    "group_modify",
    "pool_create",
    "pool_delete",
    "pool_modify",
    "pool_set_guest",
    "role_create",
    "role_delete",
    "role_modify",
    "token_authenticate",
    "token_create",
    "token_delete",
    "token_import",
]
