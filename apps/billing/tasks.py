"""Celery tasks of billing: thin wrappers around services."""

from celery import shared_task

from apps.billing.terminations import terminations_due


@shared_task(name="billing.terminate_due")
def terminate_due() -> list[str]:
    return [str(operation.pk) for operation in terminations_due()]
