"""What the navigation and the guest page offer a tenant's admins. Both answer from the
compiled access model and rows already loaded: no query on pages whose counts are pinned."""

from django import template

from apps.access.engine import has_privileges, visible_ids
from apps.guests.models import Guest
from apps.tenantadmin.selectors import (
    ADMIN_PRIVILEGE,
    may_modify_permissions,
    tenant_group_path,
)

register = template.Library()


@register.simple_tag
def administers_a_tenant(user) -> bool:
    """For the navigation: the pages themselves check the user's own tenant."""
    if not getattr(user, "is_authenticated", False) or user.tenant_id is None:
        return False
    return bool(visible_ids(user, parent="/access/groups", privilege=ADMIN_PRIVILEGE))


@register.simple_tag
def may_share(user, guest: Guest) -> bool:
    return (
        user.is_authenticated
        and user.tenant_id is not None
        and user.tenant_id == guest.tenant_id
        and has_privileges(user, tenant_group_path(guest.tenant), ADMIN_PRIVILEGE)
        and may_modify_permissions(user, guest.acl_path)
    )
