"""Reads: which integration signed a message, and what became of an event."""

import datetime

import stripe
from django.conf import settings
from django.db.models import QuerySet

from apps.billing.models import BillingEvent, Integration, IntegrationKey, UsageRecord
from apps.billing.signing import SignatureError, verify
from apps.billing.usage import QUANTITIES, usage_row
from apps.operations.models import Operation
from apps.tenancy.models import Tenant


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


def integration_stripe_signed(*, header: str, body: bytes) -> Integration:
    """The active integration whose Stripe signing secret signed `body` (checked by the
    `stripe` library); SignatureError otherwise."""
    integrations = Integration.objects.filter(active=True).exclude(stripe_signing_secret="")
    for integration in integrations:
        try:
            stripe.Webhook.construct_event(
                body,
                header,
                integration.stripe_signing_secret,
                tolerance=settings.BILLING_SIGNATURE_TOLERANCE_SECONDS,
            )
        except stripe.SignatureVerificationError:
            continue
        return integration
    raise SignatureError("no Stripe signing secret of an active integration signed this event")


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


# The columns of usage_rows, also when there are no rows.
USAGE_COLUMNS = ("tenant", "hour", "vmid", *QUANTITIES, "net_in_bytes", "net_out_bytes")


def usage_rows(*, tenants: QuerySet[Tenant], start: datetime.datetime, end: datetime.datetime):
    """The usage records of these tenants whose hour begins in [start, end), as flat rows."""
    records = (
        UsageRecord.objects.filter(tenant__in=tenants, hour__gte=start, hour__lt=end)
        .select_related("tenant")
        .order_by("hour", "tenant__slug", "vmid")
    )
    return [
        {
            "tenant": record.tenant.slug,
            "hour": record.hour.isoformat(),
            **usage_row(record),
        }
        for record in records
    ]
