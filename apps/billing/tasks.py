"""Celery tasks of billing: thin wrappers around services."""

from celery import shared_task

from apps.billing.outbound import deliveries_overdue, delivery_attempt
from apps.billing.terminations import terminations_due
from apps.billing.usage import usage_hours_close


@shared_task(name="billing.terminate_due")
def terminate_due() -> list[str]:
    return [str(operation.pk) for operation in terminations_due()]


@shared_task(bind=True, name="billing.deliver", acks_late=True, max_retries=None)
def deliver(self, delivery_id: int) -> None:
    """One attempt; a failure is retried after the back-off the attempt computed."""
    countdown = delivery_attempt(delivery_id=delivery_id)
    if countdown is not None:
        raise self.retry(countdown=countdown)


@shared_task(name="billing.deliver_overdue")
def deliver_overdue() -> list[int]:
    """Deliveries whose retry message was lost are sent again."""
    overdue = deliveries_overdue()
    for delivery_id in overdue:
        deliver.delay(delivery_id)
    return overdue


@shared_task(name="billing.usage_close")
def usage_close() -> list[str]:
    return [hour.isoformat() for hour in usage_hours_close()]
