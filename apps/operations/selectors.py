"""Reads of operations: an actor sees the operations on guests it may audit, and its own."""

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.access.engine import Principal, has_privileges, principal_of, visible_vmids
from apps.operations.models import Operation
from apps.operations.services import OPERATION_PRIVILEGE


def operation_list(*, actor: Principal) -> QuerySet[Operation]:
    operations = Operation.objects.select_related("guest").prefetch_related("steps")
    vmids = visible_vmids(actor, "VM.Audit")
    own = Q(actor=principal_of(actor))
    if isinstance(vmids, set):
        return operations.filter(own | Q(guest__vmid__in=vmids))
    # "All guests but a few" never extends to operations without a guest.
    return operations.filter(own | (Q(guest__isnull=False) & ~Q(guest__vmid__in=vmids.excluded)))


def operation_get(*, actor: Principal, operation_id: str) -> Operation:
    operation = operation_list(actor=actor).filter(pk=operation_id).first()
    if operation is None:
        raise Http404("no such operation")
    return operation


def operation_by_idempotency_key(*, actor: Principal, key: str) -> Operation | None:
    """The operation this actor already made with this Idempotency-Key, if any."""
    if not key:
        return None
    return Operation.objects.filter(actor=principal_of(actor), idempotency_key=key).first()


def operation_cancellable(*, operation: Operation, actor: Principal) -> bool:
    """Whether to offer Cancel: unfinished, and the actor holds what operation_cancel requires."""
    if operation.is_terminal:
        return False
    privilege = OPERATION_PRIVILEGE.get(operation.kind, "VM.PowerMgmt")
    return has_privileges(actor, operation.target, privilege)
