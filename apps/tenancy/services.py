"""Quotas and reservations: quota is taken in the transaction that creates the operation."""

from collections.abc import Callable, Sequence
from dataclasses import fields

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.access.models import Group, Pool
from apps.access.services import acl_modify, group_create, group_modify, pool_create
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.clusters.models import Cluster
from apps.identity.models import User
from apps.identity.services.users import user_create
from apps.tenancy.models import Plan, Quota, Reservation, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.selectors import reserved


class QuotaExceeded(Exception):
    """The request would go over the tenant's quota; `exceeded` says where and by how much."""

    def __init__(self, exceeded: dict[str, dict[str, int]]) -> None:
        self.exceeded = exceeded
        parts = [
            f"{name}: {v['used']} in use + {v['requested']} requested > {v['limit']} allowed"
            for name, v in exceeded.items()
        ]
        super().__init__("quota exceeded (" + "; ".join(parts) + ")")


def quota_set(*, tenant: Tenant, limits: Resources, actor: Actor = SYSTEM) -> Quota:
    """Lowering a limit below usage deletes nothing; it only stops further growth."""
    with transaction.atomic():
        quota, _created = Quota.objects.select_for_update().get_or_create(tenant=tenant)
        for field in fields(limits):
            setattr(quota, field.name, getattr(limits, field.name))
        quota.save()
        audit_record(
            action="tenancy.quota_set", actor=actor, target=tenant.slug, detail=limits.__dict__
        )
    return quota


def quota_reserve(
    *,
    tenant: Tenant,
    need: Resources,
    in_use: Callable[[], Resources],
    operation: object | None = None,
) -> Reservation:
    """Hold `need` for an operation, or raise QuotaExceeded. Usage is `in_use()` (what the
    tenant's live guests take, read after the lock) plus open reservations. Call it inside the
    transaction that creates the operation: the quota row lock serializes concurrent requests,
    so two cannot both take the last unit."""
    with transaction.atomic():
        quota = Quota.objects.select_for_update().filter(tenant=tenant).first()
        limits = Resources.of(quota) if quota is not None else Resources()
        used = in_use() + reserved(tenant=tenant)
        exceeded = {
            field.name: {
                "used": getattr(used, field.name),
                "requested": getattr(need, field.name),
                "limit": getattr(limits, field.name),
            }
            for field in fields(need)
            if getattr(need, field.name) > 0
            and getattr(used, field.name) + getattr(need, field.name) > getattr(limits, field.name)
        }
        if exceeded:
            raise QuotaExceeded(exceeded)
        return Reservation.objects.create(tenant=tenant, operation=operation, **need.__dict__)


def reservation_release(*, operation: object) -> None:
    Reservation.objects.filter(operation=operation, released_at__isnull=True).update(
        released_at=timezone.now()
    )


def tenant_create(*, slug: str, name: str, limits: Resources, actor: Actor = SYSTEM) -> Tenant:
    """The tenant, its quota, its pool (guests' grants reach them through it) and its group
    (whose members its administrators manage), both named by the slug."""
    tenant = Tenant(slug=slug, name=name)
    tenant.full_clean()
    if Pool.objects.filter(name=slug).exists() or Group.objects.filter(name=slug).exists():
        raise ValidationError({"slug": f"a pool or group named '{slug}' already exists"})
    with transaction.atomic():
        tenant.save()
        audit_record(
            action="tenancy.tenant_created", actor=actor, target=slug, detail={"name": name}
        )
        quota_set(tenant=tenant, limits=limits, actor=actor)
        pool_create(name=slug, comment=name, actor=actor)
        group_create(name=slug, comment=f"Users of {name}", actor=actor)
    return tenant


def tenant_admin_create(
    *, tenant: Tenant, userid: str, password: str | None, actor: Actor = SYSTEM
) -> User:
    """A user who runs the tenant: PVEVMAdmin on its pool (guests), PVEUserAdmin on its group
    (its users), and a member of that group."""
    with transaction.atomic():
        user = user_create(userid=userid, password=password, tenant=tenant, actor=actor)
        tenant_admin_grant(tenant=tenant, user=user, actor=actor)
    return user


def tenant_admin_grant(*, tenant: Tenant, user: User, actor: Actor = SYSTEM) -> None:
    group = Group.objects.get(name=tenant.slug)
    with transaction.atomic():
        group_modify(group=group, members=[*group.members.all(), user], actor=actor)
        acl_modify(
            path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=[user.username], actor=actor
        )
        acl_modify(
            path=f"/access/groups/{tenant.slug}",
            roles=["PVEUserAdmin"],
            users=[user.username],
            actor=actor,
        )


def plan_create(
    *,
    slug: str,
    name: str,
    cores: int,
    memory_mb: int,
    disk_gb: int,
    snapshots: int = 0,
    backups: int = 0,
    clusters: Sequence[Cluster] = (),
    templates: Sequence[str] = (),
    actor: Actor = SYSTEM,
) -> Plan:
    """`clusters` and `templates` (name patterns) restrict what the plan offers; empty: all."""
    plan = Plan(
        slug=slug,
        name=name,
        cores=cores,
        memory_mb=memory_mb,
        disk_gb=disk_gb,
        snapshots=snapshots,
        backups=backups,
        templates=list(templates),
    )
    plan.full_clean()
    with transaction.atomic():
        plan.save()
        plan.clusters.set(clusters)
        audit_record(
            action="tenancy.plan_created",
            actor=actor,
            target=slug,
            detail={
                "cores": cores,
                "memory_mb": memory_mb,
                "disk_gb": disk_gb,
                "clusters": [cluster.name for cluster in clusters],
                "templates": list(templates),
            },
        )
    return plan
