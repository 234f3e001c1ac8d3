"""Creating operations; the worker runs them (apps/operations/runner.py)."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import Actor, audit_record
from apps.clusters.models import Cluster
from apps.operations.models import Operation, Step


def operation_create(
    *,
    kind: str,
    cluster: Cluster,
    target: str,
    actor: Actor,
    steps: Sequence[tuple[str, dict]],
    guest: object | None = None,
    tenant: object | None = None,
) -> Operation:
    """Record the operation and its steps; it is enqueued when the caller's transaction commits."""
    from apps.operations.tasks import advance

    operation = Operation.objects.create(
        kind=kind,
        cluster=cluster,
        guest=guest,
        tenant=tenant,
        target=target,
        actor=actor.name,
        actor_kind=actor.kind,
        params={"steps": [params for _name, params in steps]},
        # Due at once: if the message below is lost, the stalled-operations sweep finds it.
        next_check_at=timezone.now(),
    )
    Step.objects.bulk_create(
        Step(operation=operation, position=position, name=name)
        for position, (name, _params) in enumerate(steps)
    )
    # robust: a broker hiccup must not turn the committed request into an error; the sweep
    # picks the operation up.
    transaction.on_commit(lambda: advance.delay(str(operation.pk)), robust=True)
    return operation


# Who may cancel an operation: the privilege its kind needs on its target.
CANCEL_PRIVILEGE = {"guest.create": "VM.Allocate", "guest.delete": "VM.Allocate"}


def operation_cancel(*, operation: Operation, actor: Principal) -> Operation:
    """Ask the worker to stop the operation: its running PVE task is aborted and what it made
    is cleaned up. Already finished operations cannot be cancelled."""
    from apps.operations.tasks import advance

    with transaction.atomic():
        operation = Operation.objects.select_for_update().get(pk=operation.pk)
        require(actor, [CANCEL_PRIVILEGE.get(operation.kind, "VM.PowerMgmt")], operation.target)
        if operation.is_terminal:
            raise ValidationError(f"the operation has already {operation.state}")
        if not operation.cancel_requested_by:
            operation.cancel_requested_by = audit_actor(actor).name
            operation.save(update_fields=["cancel_requested_by"])
            audit_record(
                action="operations.cancel",
                actor=audit_actor(actor),
                target=operation.target,
                detail={"operation": str(operation.pk)},
            )
            transaction.on_commit(lambda: advance.delay(str(operation.pk)), robust=True)
    return operation
