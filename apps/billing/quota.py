"""A billing customer's quota grows with what it buys."""

from dataclasses import fields

from apps.audit.services import Actor
from apps.guests.selectors import tenant_guest_usage
from apps.tenancy.models import Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.selectors import quota_limits, reserved
from apps.tenancy.services import quota_set


def quota_make_room(*, tenant: Tenant, need: Resources, actor: Actor) -> None:
    """Raise the tenant's limits so that `need` fits on top of what it uses; never lower them
    (an operator may have given more than the services need)."""
    used = tenant_guest_usage(tenant=tenant) + reserved(tenant=tenant) + need
    limits = quota_limits(tenant=tenant)
    raised = Resources(
        **{f.name: max(getattr(limits, f.name), getattr(used, f.name)) for f in fields(limits)}
    )
    if raised != limits:
        quota_set(tenant=tenant, limits=raised, actor=actor)
