"""The worker side of operations: advance one, and pick up any whose message was lost."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

STALLED_GRACE = timedelta(minutes=2)


@shared_task(name="operations.advance", acks_late=True)
def advance(operation_id: str) -> None:
    from apps.operations.runner import operation_advance

    wait = operation_advance(operation_id=operation_id)
    if wait is not None:
        advance.apply_async((operation_id,), countdown=wait)


@shared_task(name="operations.resume_stalled")
def resume_stalled() -> list[str]:
    from apps.operations.runner import operations_stalled

    stalled = operations_stalled(now=timezone.now(), grace=STALLED_GRACE)
    for operation_id in stalled:
        advance.delay(operation_id)
    return stalled
