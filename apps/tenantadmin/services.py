"""What a tenant's admins change: invite, disable, enable and remove its users; make groups and
set their members; grant and revoke roles on the tenant's paths.

Each checks the actor again inside the call (views only show what may be done), refuses
subjects and paths of other tenants as missing (404), and goes through the access and identity
services, which validate like PVE and write the audit events.
"""

from collections.abc import Iterable

from allauth.usersessions.adapter import get_adapter as get_usersessions_adapter
from allauth.usersessions.models import UserSession
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest

from apps.access.engine import Principal, audit_actor, require
from apps.access.exceptions import AccessDenied
from apps.access.models import AclEntry, Group
from apps.access.services import acl_delete, acl_modify, group_create, group_delete, group_modify
from apps.access.services.accounts import account_delete
from apps.audit.services import audit_record
from apps.identity.models import Realm, User
from apps.identity.services.invitations import user_invite
from apps.tenancy.models import Tenant
from apps.tenantadmin.models import TenantGroup
from apps.tenantadmin.selectors import (
    administered_tenant,
    grantable_roles,
    group_is_editable,
    tenant_acl_paths,
    tenant_group_get,
    tenant_group_path,
    tenant_token_get,
    tenant_user_get,
)
from pvecore.ids import split_userid

GROUP_PRIVILEGE = "Group.Allocate"


def _tenant_of(actor: Principal, tenant: Tenant) -> None:
    """The actor administers `tenant` (PermissionDenied, or 404 for another tenant)."""
    if administered_tenant(actor).pk != tenant.pk:
        raise Http404("no such tenant")


# Users -----------------------------------------------------------------------------------------


def tenant_user_invite(
    *, tenant: Tenant, actor: Principal, userid: str, email: str, request: HttpRequest
) -> User:
    """A new built-in account of the tenant, in the tenant's group, with an e-mailed link to
    choose a password. The group grant (PVEUserAdmin) stands for PVE's Realm.AllocateUser: the
    realm must be the built-in `pve` or a pve-type realm of this tenant."""
    _tenant_of(actor, tenant)
    try:
        _name, realm_name = split_userid(userid)
    except ValueError as error:
        raise ValidationError({"userid": str(error)}) from None
    realm = Realm.objects.filter(name=realm_name, type=Realm.Type.PVE).first()
    if realm is None or realm.tenant_id not in (None, tenant.pk):
        raise ValidationError({"userid": f"invitations are for the realm 'pve' ('{userid}')"})
    with transaction.atomic():
        user = user_invite(
            userid=userid, email=email, actor=audit_actor(actor), request=request, tenant=tenant
        )
        group = Group.objects.get(name=tenant.slug)
        group_modify(group=group, members=[*group.members.all(), user], actor=audit_actor(actor))
    return user


def _other_user(tenant: Tenant, actor: Principal, userid: str) -> User:
    user = tenant_user_get(tenant=tenant, userid=userid)
    if user.pk == getattr(actor, "user", actor).pk:
        raise ValidationError({"userid": "you cannot do this to your own account"})
    return user


def tenant_user_set_enabled(
    *, tenant: Tenant, actor: Principal, userid: str, enabled: bool
) -> User:
    """Disabling ends the user's sessions; their tokens stop working with the account."""
    _tenant_of(actor, tenant)
    user = _other_user(tenant, actor, userid)
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=enabled)
        user.is_active = enabled
        audit_record(
            action="identity.user_modified",
            actor=audit_actor(actor),
            target=user.username,
            detail={"enable": enabled},
        )
    if not enabled:
        get_usersessions_adapter().end_sessions(list(UserSession.objects.filter(user=user)))
    return user


def tenant_user_remove(*, tenant: Tenant, actor: Principal, userid: str) -> None:
    """Delete the account with its ACL entries, tokens and memberships."""
    _tenant_of(actor, tenant)
    user = _other_user(tenant, actor, userid)
    account_delete(user=user, actor=audit_actor(actor))


# Groups ----------------------------------------------------------------------------------------


def _members(tenant: Tenant, userids: Iterable[str]) -> list[User]:
    return [tenant_user_get(tenant=tenant, userid=userid) for userid in sorted(set(userids))]


def tenant_group_create(
    *, tenant: Tenant, actor: Principal, name: str, comment: str = "", members: Iterable[str] = ()
) -> Group:
    """The group `<slug>-<name>`: PVE's group names are global, the prefix keeps tenants apart."""
    _tenant_of(actor, tenant)
    require(actor, GROUP_PRIVILEGE, tenant_group_path(tenant))
    users = _members(tenant, members)
    with transaction.atomic():
        group = group_create(
            name=f"{tenant.slug}-{name}", comment=comment, members=users, actor=audit_actor(actor)
        )
        TenantGroup.objects.create(group=group, tenant=tenant)
    return group


def _editable_group(tenant: Tenant, actor: Principal, name: str) -> Group:
    _tenant_of(actor, tenant)
    require(actor, GROUP_PRIVILEGE, tenant_group_path(tenant))
    group = tenant_group_get(tenant=tenant, name=name)
    if not group_is_editable(tenant=tenant, group=group):
        raise ValidationError({"groupid": f"group '{name}' is managed by the portal"})
    return group


def tenant_group_set_members(
    *, tenant: Tenant, actor: Principal, name: str, members: Iterable[str]
) -> Group:
    group = _editable_group(tenant, actor, name)
    users = _members(tenant, members)
    return group_modify(group=group, members=users, actor=audit_actor(actor))


def tenant_group_remove(*, tenant: Tenant, actor: Principal, name: str) -> None:
    group = _editable_group(tenant, actor, name)
    group_delete(group=group, actor=audit_actor(actor))


# Permissions -----------------------------------------------------------------------------------


def _check_grant(tenant: Tenant, actor: Principal, path: str, role: str) -> None:
    if path not in tenant_acl_paths(tenant=tenant):
        raise Http404("no such path")
    if role not in {granted.name for granted in grantable_roles(actor, path)}:
        raise AccessDenied(path, "Permissions.Modify")


def _subject(tenant: Tenant, userid: str, group: str, tokenid: str) -> dict[str, list[str]]:
    if len([name for name in (userid, group, tokenid) if name]) != 1:
        raise ValidationError({"subject": "choose one user, group or token"})
    if userid:
        return {"users": [tenant_user_get(tenant=tenant, userid=userid).username]}
    if group:
        return {"groups": [tenant_group_get(tenant=tenant, name=group).name]}
    return {"tokens": [tenant_token_get(tenant=tenant, tokenid=tokenid).tokenid]}


def tenant_acl_grant(
    *,
    tenant: Tenant,
    actor: Principal,
    path: str,
    role: str,
    userid: str = "",
    group: str = "",
    tokenid: str = "",
    propagate: bool = True,
) -> None:
    """Grant `role` on one of the tenant's paths to one of its users, groups or users' tokens."""
    _tenant_of(actor, tenant)
    subject = _subject(tenant, userid, group, tokenid)
    _check_grant(tenant, actor, path, role)
    acl_modify(path=path, roles=[role], propagate=propagate, actor=audit_actor(actor), **subject)


def tenant_acl_revoke(*, tenant: Tenant, actor: Principal, entry: AclEntry) -> None:
    """Revoking needs what granting the same role there needs."""
    _tenant_of(actor, tenant)
    _check_grant(tenant, actor, entry.path, entry.role)
    if entry.token_id is not None:
        subject = {"tokens": [entry.token.tokenid]}
    elif entry.group_id is not None:
        subject = {"groups": [entry.group.name]}
    else:
        subject = {"users": [entry.user.username]}
    acl_delete(path=entry.path, roles=[entry.role], actor=audit_actor(actor), **subject)
