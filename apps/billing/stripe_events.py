"""Stripe's events, acted on through the same contract as the portal's own webhooks. The portal
parameters come from the Stripe object's `metadata` (docs/billing.md):

- `portal_plan` (create, change of package), `portal_template` and `portal_hostname` (create),
  `portal_region` (optional);
- `portal_service`: the service id; by default the subscription's id (`sub_...`).

A Stripe customer (`cus_...`) is a billing customer, its tenant made on its first checkout."""

import datetime

from django.utils.translation import gettext as _

from apps.billing.contract import (
    Handler,
    InvalidEvent,
    Outcome,
    service_change_package,
    service_create,
    service_renew,
    service_suspend,
    service_terminate,
    service_unsuspend,
)
from apps.billing.models import BillingEvent, Integration, Service

METADATA_PREFIX = "portal_"


def _object(data: dict) -> dict:
    found = data.get("object")
    if not isinstance(found, dict):
        raise InvalidEvent(_("data.object is required"))
    return found


def _metadata(obj: dict) -> dict:
    """The object's portal_* metadata without the prefix."""
    metadata = obj.get("metadata") or {}
    return {
        key.removeprefix(METADATA_PREFIX): value
        for key, value in metadata.items()
        if key.startswith(METADATA_PREFIX)
    }


def _invoice_subscription(invoice: dict) -> tuple[str, dict]:
    """An invoice's subscription id and metadata, where API versions before and after
    2025-03 put them."""
    details = (
        (invoice.get("parent") or {}).get("subscription_details")
        or invoice.get("subscription_details")
        or {}
    )
    subscription = details.get("subscription") or invoice.get("subscription") or ""
    if isinstance(subscription, dict):
        subscription = subscription.get("id", "")
    return str(subscription), _metadata(details)


def _service_id(metadata: dict, default: object) -> str:
    service = metadata.get("service") or default
    if not service:
        raise InvalidEvent(_("no service: set metadata portal_service or use a subscription"))
    return str(service)


def checkout_completed(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    session = _object(data)
    metadata = _metadata(session)
    details = session.get("customer_details") or {}
    customer = session.get("customer") or details.get("email")
    if not customer:
        raise InvalidEvent(_("the checkout session has no customer"))
    return service_create(
        integration=integration,
        data={
            "service": _service_id(metadata, session.get("subscription") or session.get("id")),
            "customer": {"id": customer, "name": details.get("name") or details.get("email")},
            "plan": metadata.get("plan"),
            "template": metadata.get("template"),
            "region": metadata.get("region"),
            "hostname": metadata.get("hostname"),
        },
        event=event,
    )


def subscription_updated(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    """A new plan in the subscription's metadata resizes the guest; other updates (a renewal
    date, a status) change nothing here: invoices tell about payment."""
    subscription = _object(data)
    metadata = _metadata(subscription)
    service_id = _service_id(metadata, subscription.get("id"))
    current = Service.objects.filter(integration=integration, external_id=service_id).first()
    if current is not None and metadata.get("plan") in (None, current.plan.slug):
        return Outcome(service=current, detail={"note": _("no change of plan")})
    return service_change_package(
        integration=integration,
        data={"service": service_id, "plan": metadata.get("plan")},
        event=event,
    )


def subscription_deleted(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    subscription = _object(data)
    service_id = _service_id(_metadata(subscription), subscription.get("id"))
    return service_terminate(integration=integration, data={"service": service_id}, event=event)


def invoice_payment_failed(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    subscription, metadata = _invoice_subscription(_object(data))
    return service_suspend(
        integration=integration, data={"service": _service_id(metadata, subscription)}, event=event
    )


def _paid_until(invoice: dict) -> str:
    """The end of the period the invoice paid for: its subscription line's period."""
    lines = (invoice.get("lines") or {}).get("data") or []
    end = next(
        (line["period"]["end"] for line in lines if (line.get("period") or {}).get("end")),
        invoice.get("period_end"),
    )
    if not isinstance(end, int):
        raise InvalidEvent(_("the invoice has no period end"))
    return datetime.datetime.fromtimestamp(end, tz=datetime.UTC).date().isoformat()


def invoice_paid(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    """A suspended service is active again; the paid period is recorded (calling off a pending
    termination). The first invoice of a subscription may come before its checkout event: a
    service not made yet has nothing to renew."""
    invoice = _object(data)
    subscription, metadata = _invoice_subscription(invoice)
    service_id = _service_id(metadata, subscription)
    service = Service.objects.filter(integration=integration, external_id=service_id).first()
    if service is None:
        return Outcome(detail={"note": _("no service '%(id)s' yet") % {"id": service_id}})
    if service.state == Service.State.SUSPENDED:
        service_unsuspend(integration=integration, data={"service": service_id}, event=event)
    return service_renew(
        integration=integration,
        data={"service": service_id, "paid_until": _paid_until(invoice)},
        event=event,
    )


STRIPE_HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout_completed,
    "customer.subscription.updated": subscription_updated,
    "customer.subscription.deleted": subscription_deleted,
    "invoice.payment_failed": invoice_payment_failed,
    "invoice.paid": invoice_paid,
}
