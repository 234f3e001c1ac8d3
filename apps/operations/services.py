"""Creating operations; the worker runs them (apps/operations/runner.py)."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import Actor, audit_record
from apps.clusters.models import Cluster
from apps.operations.models import Operation, Step
from apps.operations.progress import progress_publish


def operation_create(
    *,
    kind: str,
    cluster: Cluster,
    target: str,
    actor: Actor,
    steps: Sequence[tuple[str, dict]],
    guest: object | None = None,
    tenant: object | None = None,
    idempotency_key: str = "",
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
        idempotency_key=idempotency_key,
        # Due at once: if the message below is lost, the stalled-operations sweep finds it.
        next_check_at=timezone.now(),
    )
    Step.objects.bulk_create(
        Step(operation=operation, position=position, name=name)
        for position, (name, _params) in enumerate(steps)
    )
    # Live pages hear of it before the worker can move it on.
    transaction.on_commit(lambda: progress_publish(operation), robust=True)
    # robust: a broker hiccup must not turn the committed request into an error; the sweep
    # picks the operation up.
    transaction.on_commit(lambda: advance.delay(str(operation.pk)), robust=True)
    return operation


# Who may cancel or retry an operation: the privilege its kind needs on its target (power
# actions: VM.PowerMgmt).
OPERATION_PRIVILEGE = {
    "guest.create": "VM.Allocate",
    "guest.delete": "VM.Allocate",
    "guest.reinstall": "VM.Allocate",
    "guest.resize": "VM.Config.Disk",
    "guest.update": "VM.Config.Options",
    "guest.snapshot": "VM.Snapshot",
    "guest.rollback": "VM.Snapshot.Rollback",
    "guest.snapshot_delete": "VM.Snapshot",
    "guest.backup": "VM.Backup",
}


def operation_cancel(*, operation: Operation, actor: Principal) -> Operation:
    """Ask the worker to stop the operation: its running PVE task is aborted and what it made
    is cleaned up. Already finished operations cannot be cancelled."""
    from apps.operations.tasks import advance

    with transaction.atomic():
        operation = Operation.objects.select_for_update().get(pk=operation.pk)
        require(actor, [OPERATION_PRIVILEGE.get(operation.kind, "VM.PowerMgmt")], operation.target)
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


RETRYABLE_STATES = frozenset({Operation.State.FAILED, Operation.State.CANCELLED})
# Their worker steps reserve quota (released when the operation ends): only a new request may.
QUOTA_KINDS = frozenset({"guest.create", "guest.resize"})


def _refuse_unless_rerunnable(operation: Operation, step_names: list[str]) -> None:
    """Power actions and deletes make nothing and hold no quota: their steps can run again from
    scratch. Nothing else can."""
    if operation.kind in QUOTA_KINDS:
        raise ValidationError(
            f"a {operation.kind} operation cannot be retried: it needs quota reserved anew, so "
            "request it again"
        )
    is_power = operation.kind.startswith("guest.") and step_names == ["guest_power"]
    if not (is_power or operation.kind == "guest.delete"):
        raise ValidationError(
            f"a {operation.kind} operation cannot be retried: only power actions and "
            "guest.delete are"
        )


def operation_retry(*, operation: Operation, actor: Principal) -> Operation:
    """A new operation doing again what a failed or cancelled one did (`retry_of` in its
    params), for kinds safe to re-run from scratch: power actions and guest.delete."""
    with transaction.atomic():
        # Locked: two retries of one operation queue up, and the second sees the first's.
        operation = (
            Operation.objects.select_for_update(of=("self",))
            .select_related("cluster", "guest", "tenant")
            .get(pk=operation.pk)
        )
        require(actor, [OPERATION_PRIVILEGE.get(operation.kind, "VM.PowerMgmt")], operation.target)
        step_params = operation.params.get("steps", [])
        steps = [
            (step.name, step_params[step.position]) for step in operation.steps.order_by("position")
        ]
        _refuse_unless_rerunnable(operation, [name for name, _params in steps])
        if operation.state not in RETRYABLE_STATES:
            raise ValidationError(
                f"the operation is {operation.state}: only failed or cancelled ones are retried"
            )
        guest = operation.guest
        if guest is None or guest.vanished_at is not None:
            raise ValidationError("the guest no longer exists: there is nothing to retry on")
        if (
            guest.operations.filter(kind=operation.kind)
            .exclude(state__in=Operation.TERMINAL_STATES)
            .exists()
        ):
            raise ValidationError(
                f"a {operation.kind} of guest {guest.vmid} is already queued or running"
            )
        if operation.kind == "guest.delete" and guest.status == "stopped":
            # As guest_delete decides: PVE refuses to stop a stopped container.
            steps = [step for step in steps if step[0] != "guest_power"]
        retry = operation_create(
            kind=operation.kind,
            cluster=operation.cluster,
            guest=guest,
            tenant=operation.tenant,
            target=operation.target,
            actor=audit_actor(actor),
            steps=steps,
        )
        retry.params["retry_of"] = str(operation.pk)
        retry.save(update_fields=["params"])
        audit_record(
            action="operations.retry",
            actor=audit_actor(actor),
            target=operation.target,
            detail={"operation": str(retry.pk), "retry_of": str(operation.pk)},
        )
    return retry
