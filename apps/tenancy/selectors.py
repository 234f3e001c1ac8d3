"""Reads for tenancy."""

from django.db.models import QuerySet, Sum
from django.http import Http404

from apps.tenancy.models import Plan, Quota, Reservation, Tenant
from apps.tenancy.resources import DIMENSIONS, Resources


def reserved(*, tenant: Tenant) -> Resources:
    """What the tenant's operations in flight hold."""
    held = Reservation.objects.filter(tenant=tenant, released_at__isnull=True).aggregate(
        **{name: Sum(name) for name in DIMENSIONS}
    )
    return Resources(**{name: held[name] or 0 for name in DIMENSIONS})


def plan_list() -> QuerySet[Plan]:
    return Plan.objects.filter(active=True).prefetch_related("clusters")


def tenant_list(*, actor: object) -> QuerySet[Tenant]:
    """Operators see every tenant; anyone else only their own. `actor` is a user or an API
    token (tenancy sits below the access app, so it is not typed with its Principal)."""
    user = getattr(actor, "user", actor)
    if not user.is_authenticated:
        return Tenant.objects.none()
    if user.is_superuser:
        return Tenant.objects.all()
    return Tenant.objects.filter(pk=user.tenant_id) if user.tenant_id else Tenant.objects.none()


def tenant_get(*, actor: object, slug: str) -> Tenant:
    tenant = tenant_list(actor=actor).filter(slug=slug).first()
    if tenant is None:
        raise Http404("no such tenant")
    return tenant


def quota_limits(*, tenant: Tenant) -> Resources:
    quota = Quota.objects.filter(tenant=tenant).first()
    return Resources.of(quota) if quota is not None else Resources()
