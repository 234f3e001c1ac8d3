"""Reads for tenancy."""

from django.db.models import Sum

from apps.tenancy.models import Reservation, Tenant
from apps.tenancy.resources import DIMENSIONS, Resources


def reserved(*, tenant: Tenant) -> Resources:
    """What the tenant's operations in flight hold."""
    held = Reservation.objects.filter(tenant=tenant, released_at__isnull=True).aggregate(
        **{name: Sum(name) for name in DIMENSIONS}
    )
    return Resources(**{name: held[name] or 0 for name in DIMENSIONS})
