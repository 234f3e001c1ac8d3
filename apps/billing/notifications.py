"""Which outbound events the portal's changes make, and what they say."""

from apps.billing.outbound import event_emit
from apps.guests.models import Guest
from apps.operations.models import Operation
from apps.tenancy.models import Tenant


def _guest_data(guest: Guest) -> dict:
    return {
        "vmid": guest.vmid,
        "name": guest.name,
        "type": guest.type,
        "cluster": guest.cluster.name,
        "node": guest.node,
        "status": guest.status,
        "cores": guest.cores,
        "memory_mb": guest.memory_mb,
        "disk_gb": guest.disk_gb,
    }


def _vmid(operation: Operation) -> int | None:
    """The VMID the operation was about, also once its guest row is gone."""
    prefix = "/vms/"
    target = operation.target
    return int(target[len(prefix) :]) if target.startswith(prefix) else None


def operation_events(*, operation: Operation, guest: Guest | None) -> None:
    """guest.created when a create succeeded, guest.deleted when a delete did, and
    operation.failed for any failed operation of a tenant."""
    tenant = operation.tenant
    base = {"tenant": tenant.slug if tenant else None, "operation": str(operation.pk)}
    if operation.state == Operation.State.SUCCEEDED:
        if operation.kind == "guest.create" and guest is not None:
            event_emit(type_="guest.created", tenant=tenant, data={**base, **_guest_data(guest)})
        elif operation.kind == "guest.delete":
            event_emit(
                type_="guest.deleted", tenant=tenant, data={**base, "vmid": _vmid(operation)}
            )
    elif operation.state == Operation.State.FAILED:
        event_emit(
            type_="operation.failed",
            tenant=tenant,
            data={
                **base,
                "kind": operation.kind,
                "vmid": _vmid(operation),
                "error": operation.error,
            },
        )


def tenant_suspended_event(*, tenant: Tenant) -> None:
    event_emit(type_="tenant.suspended", tenant=tenant, data={"tenant": tenant.slug})
