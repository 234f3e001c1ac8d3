"""Suspending and unsuspending a tenant, which acts on its guests."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.engine import Principal, audit_actor
from apps.audit.services import audit_record
from apps.guests.models import Guest
from apps.guests.services.lifecycle import guest_power
from apps.operations.models import Operation
from apps.tenancy.models import Tenant
from apps.tenancy.signals import tenant_suspended


def tenant_suspend(*, tenant: Tenant, actor: Principal) -> list[Operation]:
    """Suspend a tenant: its running guests are stopped (data kept) and its users can no longer
    change anything. Returns the stop operations."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status != Tenant.Status.ACTIVE:
            raise ValidationError(f"tenant '{tenant.slug}' is {tenant.status}")
        tenant.status = Tenant.Status.SUSPENDED
        tenant.save(update_fields=["status"])
        audit_record(
            action="tenancy.tenant_suspended", actor=audit_actor(actor), target=tenant.slug
        )
        tenant_suspended.send(Tenant, tenant=tenant, actor=actor)
        running = Guest.objects.filter(
            tenant=tenant, status="running", template=False, vanished_at__isnull=True
        )
        return [guest_power(guest=guest, action="stop", actor=actor) for guest in running]


def tenant_unsuspend(*, tenant: Tenant, actor: Principal) -> None:
    """Give the tenant its guests back; they stay stopped until someone starts them."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status != Tenant.Status.SUSPENDED:
            raise ValidationError(f"tenant '{tenant.slug}' is {tenant.status}, not suspended")
        tenant.status = Tenant.Status.ACTIVE
        tenant.save(update_fields=["status"])
        audit_record(
            action="tenancy.tenant_unsuspended", actor=audit_actor(actor), target=tenant.slug
        )
