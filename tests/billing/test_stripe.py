"""Stripe's webhook: events signed by the `stripe` library's own helper are acted on through
the billing contract, once per event id; tampered or foreign ones are refused."""

import json
import time

import pytest
import stripe
from django.test import Client

from apps.billing.models import BillingEvent, Service
from apps.guests.models import Guest
from tests.billing.test_end_to_end import accepted, plans  # noqa: F401 (fixture)

STRIPE_SECRET = "whsec_test_portal_secret"


@pytest.fixture
def stripe_integration(integration):
    integration.stripe_signing_secret = STRIPE_SECRET
    integration.save()
    return integration


def stripe_event(event_id: str, type_: str, obj: dict) -> bytes:
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": type_,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
    ).encode()


def post(body: bytes, *, secret: str = STRIPE_SECRET, signed_body: bytes | None = None):
    header = stripe.WebhookSignature.generate_signature_header(
        (signed_body or body).decode(), secret
    )
    return Client().post(
        "/billing/stripe/", body, content_type="application/json", HTTP_STRIPE_SIGNATURE=header
    )


SUBSCRIPTION_METADATA = {"portal_plan": "small"}


def invoice(subscription: str, period_end: int) -> dict:
    return {
        "id": "in_1",
        "object": "invoice",
        "parent": {
            "subscription_details": {"subscription": subscription, "metadata": {}},
            "type": "subscription_details",
        },
        "lines": {"data": [{"period": {"start": period_end - 2592000, "end": period_end}}]},
        "period_end": period_end - 2592000,
    }


@pytest.mark.django_db(transaction=True)
def test_a_stripe_subscription_drives_its_service(stripe_integration, plans, worker) -> None:  # noqa: F811
    checkout = stripe_event(
        "evt_checkout",
        "checkout.session.completed",
        {
            "id": "cs_test_1",
            "object": "checkout.session",
            "customer": "cus_42",
            "customer_details": {"name": "ACME Ltd", "email": "billing@acme.example"},
            "subscription": "sub_1",
            "metadata": {
                "portal_plan": "small",
                "portal_template": "9000",
                "portal_hostname": "web1",
            },
        },
    )
    accepted(post(checkout))
    service = Service.objects.get(external_id="sub_1")
    assert (service.customer.external_id, service.customer.tenant.name) == ("cus_42", "ACME Ltd")
    assert Guest.objects.get(pk=service.guest_id).status == "running"
    again = post(checkout)  # Stripe delivers again: the same answer, nothing done twice
    assert (again.status_code, again["Idempotent-Replayed"]) == (202, "true")
    assert Service.objects.count() == 1

    accepted(post(stripe_event("evt_failed", "invoice.payment_failed", invoice("sub_1", 0))))
    service.refresh_from_db()
    assert (service.state, service.customer.tenant.status) == ("suspended", "suspended")

    paid = post(stripe_event("evt_paid", "invoice.paid", invoice("sub_1", 1798761600)))
    accepted(paid)
    service.refresh_from_db()
    assert (service.state, str(service.paid_until)) == ("active", "2027-01-01")
    assert paid.json()["paid_until"] == "2027-01-01"

    same_plan = {"id": "sub_1", "object": "subscription", "metadata": SUBSCRIPTION_METADATA}
    unchanged = post(stripe_event("evt_upd1", "customer.subscription.updated", same_plan))
    assert (unchanged.status_code, unchanged.json()["operations"]) == (202, [])
    bigger = {**same_plan, "metadata": {"portal_plan": "medium"}}
    accepted(post(stripe_event("evt_upd2", "customer.subscription.updated", bigger)))
    guest = Guest.objects.get(pk=service.guest_id)
    assert (guest.cores, guest.memory_mb, guest.disk_gb) == (2, 2048, 30)

    accepted(post(stripe_event("evt_del", "customer.subscription.deleted", bigger)))
    service.refresh_from_db()
    assert service.state == "terminating"
    stored = BillingEvent.objects.filter(integration=stripe_integration)
    assert set(stored.values_list("type", flat=True)) == {
        "checkout.session.completed",
        "invoice.payment_failed",
        "invoice.paid",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }


@pytest.mark.django_db
def test_tampered_or_foreign_stripe_events_are_refused(stripe_integration) -> None:
    body = stripe_event("evt_t", "customer.subscription.deleted", {"id": "sub_9"})
    tampered = body.replace(b"sub_9", b"sub_1")
    refused = post(tampered, signed_body=body)
    assert refused.status_code == 401
    assert post(body, secret="whsec_someone_else").status_code == 401
    unsigned = Client().post("/billing/stripe/", body, content_type="application/json")
    assert unsigned.status_code == 401
    assert not BillingEvent.objects.exists()

    # Signed, but about a subscription the portal does not know: stored and answered 404.
    missing = post(body)
    assert (missing.status_code, missing.json()["error"]) == (404, "no service 'sub_9'")
    # A type the portal does not act on is acknowledged, so Stripe stops sending it.
    other = post(stripe_event("evt_o", "customer.created", {"id": "cus_1"}))
    assert (other.status_code, other.json()["result"]) == (200, "ignored")
    assert list(BillingEvent.objects.values_list("event_id", flat=True)) == ["evt_t"]
