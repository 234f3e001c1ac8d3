"""Reads: which integration signed a message, and what became of an event."""

from django.conf import settings

from apps.billing.models import BillingEvent, Integration, IntegrationKey
from apps.billing.signing import verify
from apps.operations.models import Operation


def integration_signed(*, header: str, content: bytes) -> Integration:
    """The active integration whose active key signed `content`; SignatureError otherwise.
    The key names the integration, so one URL serves them all."""
    keys = list(
        IntegrationKey.objects.filter(active=True, integration__active=True).select_related(
            "integration"
        )
    )
    secret = verify(
        header=header,
        content=content,
        keys=[key.secret for key in keys],
        tolerance=settings.BILLING_SIGNATURE_TOLERANCE_SECONDS,
    )
    return next(key.integration for key in keys if key.secret == secret)


def event_get(*, integration: Integration, event_id: str) -> BillingEvent | None:
    return (
        BillingEvent.objects.filter(integration=integration, event_id=event_id)
        .select_related("service__guest")
        .first()
    )


def event_status(event: BillingEvent) -> dict:
    """The stored answer, with how its operations have fared since."""
    operations = Operation.objects.filter(pk__in=event.answer.get("operations", []))
    service = event.service
    return {
        **event.answer,
        "status_code": event.answer_status,
        "received_at": event.received_at.isoformat(),
        "processed_at": event.processed_at.isoformat() if event.processed_at else None,
        "operations": [
            {"id": str(op.pk), "kind": op.kind, "state": op.state, "error": op.error}
            for op in operations.order_by("created_at")
        ],
        "service_state": service.state if service is not None else None,
        "vmid": service.vmid if service is not None else None,
    }
