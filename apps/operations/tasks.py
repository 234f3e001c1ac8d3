"""The worker side of operations: advance one, and pick up any whose message was lost."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone


def stalled_grace() -> timedelta:
    """How overdue an operation must be before the sweep enqueues it again."""
    return timedelta(seconds=settings.OPERATIONS_STALLED_GRACE_SECONDS)


@shared_task(name="operations.advance", acks_late=True)
def advance(operation_id: str) -> None:
    from apps.operations.runner import operation_advance

    wait = operation_advance(operation_id=operation_id)
    if wait is not None:
        advance.apply_async((operation_id,), countdown=wait)


@shared_task(name="operations.resume_stalled")
def resume_stalled() -> list[str]:
    """Enqueue every operation whose next look is overdue. Its look is due again from now, so a
    worker that is only slow (its queue long) gets one more copy per grace period, not one per
    sweep; the copy that comes second is dropped as not due."""
    from apps.operations.models import Operation
    from apps.operations.runner import operations_stalled

    now, grace = timezone.now(), stalled_grace()
    resumed = []
    for operation_id in operations_stalled(now=now, grace=grace):
        overdue = Operation.objects.filter(pk=operation_id, next_check_at__lt=now - grace)
        if overdue.update(next_check_at=now):  # not advanced meanwhile
            advance.delay(operation_id)
            resumed.append(operation_id)
    return resumed
