"""Creating operations; the worker runs them (apps/operations/runner.py)."""

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from apps.audit.services import Actor
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
