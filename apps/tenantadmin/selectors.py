"""Reads for a tenant's admins: its users, groups, ACL paths and entries, audit events.

Everything is scoped to one tenant; an object of another tenant is as missing (404) as one that
does not exist. A tenant admin is a user of the tenant holding User.Modify on the tenant's
group (`/access/groups/<slug>`, PVEUserAdmin as `tenant_admin_grant` gives it).
"""

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from apps.access.engine import Principal, has_privileges, privileges
from apps.access.exceptions import AccessDenied
from apps.access.models import AclEntry, ApiToken, Group, PoolStorage
from apps.access.selectors import RoleInfo, role_list
from apps.audit.models import AuditEvent
from apps.guests.models import Guest
from apps.identity.models import User
from apps.tenancy.models import Tenant
from apps.tenantadmin.roles import role_description

ADMIN_PRIVILEGE = "User.Modify"
# PVE's perm-modify check: Permissions.Modify, or allocating the object also allows granting on it.
_ALLOCATE_ON = {
    "/vms/": "VM.Allocate",
    "/pool/": "Pool.Allocate",
    "/storage/": "Datastore.Allocate",
}


def tenant_group_path(tenant: Tenant) -> str:
    return f"/access/groups/{tenant.slug}"


def administered_tenant(actor: Principal) -> Tenant:
    """The actor's tenant when they administer it: 404 without a tenant, 403 for its users."""
    user = getattr(actor, "user", actor)
    if not user.is_authenticated or user.tenant_id is None:
        raise Http404("no tenant")
    tenant = user.tenant
    if not has_privileges(actor, tenant_group_path(tenant), ADMIN_PRIVILEGE):
        raise AccessDenied(tenant_group_path(tenant), ADMIN_PRIVILEGE)
    return tenant


# Users and groups ------------------------------------------------------------------------------


def tenant_users(*, tenant: Tenant) -> QuerySet[User]:
    return (
        User.objects.filter(tenant=tenant)
        .select_related("realm")
        .prefetch_related(Prefetch("access_groups", queryset=Group.objects.order_by("name")))
        .order_by("username")
    )


def tenant_user_get(*, tenant: Tenant, userid: str) -> User:
    user = User.objects.filter(tenant=tenant, username=userid).first()
    if user is None:
        raise Http404("no such user")
    return user


def tenant_groups(*, tenant: Tenant) -> QuerySet[Group]:
    """The tenant's own group, the groups its admins made and those its realms sync."""
    return (
        Group.objects.filter(
            Q(name=tenant.slug)
            | Q(tenant_link__tenant=tenant)
            | Q(synced_from_realm__tenant=tenant)
        )
        .select_related("synced_from_realm")
        .prefetch_related(Prefetch("members", queryset=User.objects.order_by("username")))
        .order_by("name")
        .distinct()
    )


def tenant_group_get(*, tenant: Tenant, name: str) -> Group:
    group = tenant_groups(tenant=tenant).filter(name=name).first()
    if group is None:
        raise Http404("no such group")
    return group


def group_is_editable(*, tenant: Tenant, group: Group) -> bool:
    """Members of the tenant's own group are its users (invitations add them) and realm sync
    manages its groups: only groups the admins made are edited by hand."""
    return group.name != tenant.slug and group.synced_from_realm_id is None


# ACL paths and entries -------------------------------------------------------------------------


def tenant_acl_paths(*, tenant: Tenant) -> list[str]:
    """Where a tenant's admins may set permissions: its pool, its guests, its pool's storages."""
    vmids = (
        Guest.objects.filter(tenant=tenant, template=False, vanished_at__isnull=True)
        .exclude(status="destroyed")
        .order_by("vmid")
        .values_list("vmid", flat=True)
    )
    storages = (
        PoolStorage.objects.filter(pool__name=tenant.slug)
        .order_by("storage")
        .values_list("storage", flat=True)
    )
    return [
        f"/pool/{tenant.slug}",
        *(f"/vms/{vmid}" for vmid in vmids),
        *(f"/storage/{storage}" for storage in storages),
    ]


def tenant_subjects_filter(*, tenant: Tenant) -> Q:
    """ACL entries whose subject belongs to the tenant: its users, groups and users' tokens."""
    groups = tenant_groups(tenant=tenant).order_by().values("pk")
    return Q(user__tenant=tenant) | Q(group__in=groups) | Q(token__user__tenant=tenant)


def tenant_acl_entries(*, tenant: Tenant, paths: list[str]) -> QuerySet[AclEntry]:
    return (
        AclEntry.objects.filter(tenant_subjects_filter(tenant=tenant), path__in=paths)
        .select_related("user", "group", "token__user")
        .order_by("path", "role", "id")
    )


def tenant_acl_entry_get(*, tenant: Tenant, entry_id: int) -> AclEntry:
    paths = tenant_acl_paths(tenant=tenant)
    entry = tenant_acl_entries(tenant=tenant, paths=paths).filter(pk=entry_id).first()
    if entry is None:
        raise Http404("no such ACL entry")
    return entry


def tenant_tokens(*, tenant: Tenant) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user__tenant=tenant).select_related("user")


def tenant_token_get(*, tenant: Tenant, tokenid: str) -> ApiToken:
    token = next((t for t in tenant_tokens(tenant=tenant) if t.tokenid == tokenid), None)
    if token is None:
        raise Http404("no such token")
    return token


def may_modify_permissions(actor: Principal, path: str) -> bool:
    """PVE's perm-modify check on `path`."""
    wanted = ["Permissions.Modify"]
    wanted += [privilege for prefix, privilege in _ALLOCATE_ON.items() if path.startswith(prefix)]
    return has_privileges(actor, path, wanted, any_=True)


@dataclass(frozen=True)
class GrantableRole:
    name: str
    description: str
    privileges: tuple[str, ...]


def grantable_roles(actor: Principal, path: str) -> list[GrantableRole]:
    """Roles the actor may grant on `path`: none without perm-modify there; without
    Permissions.Modify, only roles whose privileges the actor holds there itself (PVE's rule
    against granting more than one has)."""
    if not may_modify_permissions(actor, path):
        return []
    held = privileges(actor, path)
    unrestricted = "Permissions.Modify" in held
    return [
        _grantable(role) for role in role_list() if unrestricted or set(role.privileges) <= held
    ]


def _grantable(role: RoleInfo) -> GrantableRole:
    return GrantableRole(role.name, role_description(role.name), role.privileges)


def described_roles() -> list[GrantableRole]:
    """Every role with what it is for and its privileges, for the editor's reference table."""
    return [_grantable(role) for role in role_list()]


# Audit -----------------------------------------------------------------------------------------


def tenant_audit_events(*, tenant: Tenant) -> QuerySet[AuditEvent]:
    """Events by the tenant's users and tokens, and events about its users, groups, guests,
    pool and storages, newest first."""
    userids = list(User.objects.filter(tenant=tenant).values_list("username", flat=True))
    tokenids = [token.tokenid for token in tenant_tokens(tenant=tenant)]
    groups = [
        f"/access/groups/{name}"
        for name in tenant_groups(tenant=tenant).values_list("name", flat=True)
    ]
    targets = [tenant.slug, *userids, *tokenids, *groups, *tenant_acl_paths(tenant=tenant)]
    return AuditEvent.objects.filter(
        Q(actor__in=[*userids, *tokenids]) | Q(target__in=targets)
    ).order_by("-at", "-id")
