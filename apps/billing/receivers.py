"""Where billing hears of changes made elsewhere: operations ending, tenants suspended, guest
rows saved or removed. Each receiver hands over to a service, in the sender's transaction."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.billing.notifications import operation_events, tenant_suspended_event
from apps.billing.states import guest_state_close, guest_state_record
from apps.guests.models import Guest
from apps.operations.models import Operation
from apps.operations.signals import operation_finished
from apps.tenancy.models import Tenant
from apps.tenancy.signals import tenant_suspended


@receiver(operation_finished)
def on_operation_finished(sender: object, operation: Operation, **kwargs: object) -> None:
    with transaction.atomic():
        # Finishers change guest rows with update(), which sends no post_save: read it again.
        guest = Guest.objects.filter(pk=operation.guest_id).first()
        if guest is not None:
            guest_state_record(guest=guest, at=operation.finished_at)
        operation_events(operation=operation, guest=guest)


@receiver(tenant_suspended)
def on_tenant_suspended(sender: object, tenant: Tenant, **kwargs: object) -> None:
    tenant_suspended_event(tenant=tenant)


@receiver(post_save, sender=Guest)
def on_guest_saved(sender: object, instance: Guest, **kwargs: object) -> None:
    """The sync saves what it found on PVE, drift included."""
    guest_state_record(guest=instance)


@receiver(post_delete, sender=Guest)
def on_guest_deleted(sender: object, instance: Guest, **kwargs: object) -> None:
    guest_state_close(vmid=instance.vmid)
