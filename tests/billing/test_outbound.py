"""Outbound events: recorded with the change, delivered after commit to a real HTTP endpoint,
signed with the integration's key, retried with exponential back-off, replayed from the
admin."""

import datetime

import pytest
from django.test import Client

from apps.billing.models import Customer, Delivery, Integration
from apps.billing.outbound import delivery_attempt
from apps.billing.tasks import deliver
from apps.guests.services import tenant_suspend
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant(integration, receiver) -> Tenant:
    integration.endpoint_url = receiver.url
    integration.save()
    tenant = Tenant.objects.create(name="ACME", slug="acme")
    Customer.objects.create(integration=integration, external_id="42", tenant=tenant)
    return tenant


def test_an_event_is_delivered_signed_once_the_change_commits(
    tenant, integration, receiver, django_capture_on_commit_callbacks
) -> None:
    # Another integration with an endpoint, which does not bill this tenant, hears nothing.
    Integration.objects.create(
        name="other", principal=integration.principal, endpoint_url=receiver.url
    )
    with django_capture_on_commit_callbacks() as callbacks:
        tenant_suspend(tenant=tenant, actor=integration.principal)
        delivery = Delivery.objects.get()
        assert (delivery.integration, delivery.state) == (integration, "pending")
    assert len(callbacks) == 1  # the delivery is enqueued after commit, not before
    assert receiver.received == []

    deliver.apply((delivery.pk,))

    (event,) = receiver.events()  # signature checked with apps.billing.signing
    assert event["id"] == delivery.event.event_id
    assert event["type"] == "tenant.suspended"
    assert event["data"] == {"tenant": "acme", "customer": "42"}
    assert isinstance(event["created"], int)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_failing_endpoint_is_retried_with_exponential_backoff(
    tenant, integration, receiver
) -> None:
    receiver.statuses = [500, 503, 200]
    tenant_suspend(tenant=tenant, actor=integration.principal)
    delivery = Delivery.objects.get()

    assert delivery_attempt(delivery_id=delivery.pk) == 30.0
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.next_attempt_at - delivery.last_attempt_at == datetime.timedelta(seconds=30)
    assert "answered 500" in delivery.last_error

    assert delivery_attempt(delivery_id=delivery.pk) == 60.0
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (2, 503)
    assert delivery.next_attempt_at - delivery.last_attempt_at == datetime.timedelta(seconds=60)

    assert delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert (delivery.next_attempt_at, delivery.last_error) == (None, "")

    # A late copy of the retry message finds it delivered and sends nothing.
    assert delivery_attempt(delivery_id=delivery.pk) is None
    events = receiver.events()
    assert len(events) == 3
    assert {event["id"] for event in events} == {delivery.event.event_id}


def test_the_delivery_task_retries_until_the_endpoint_answers(
    tenant, integration, receiver
) -> None:
    receiver.statuses = [502, 500, 200]
    tenant_suspend(tenant=tenant, actor=integration.principal)
    delivery = Delivery.objects.get()
    deliver.apply((delivery.pk,))  # run eagerly: each retry runs at once instead of later
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 3)
    assert len(receiver.events()) == 3


def test_an_unreachable_endpoint_is_recorded_and_given_up_on(
    tenant, integration, receiver, settings
) -> None:
    settings.BILLING_DELIVERY_MAX_ATTEMPTS = 2
    integration.endpoint_url = "http://127.0.0.1:9/nothing-listens-here"
    integration.save()
    tenant_suspend(tenant=tenant, actor=integration.principal)
    delivery = Delivery.objects.get()
    assert delivery_attempt(delivery_id=delivery.pk) == 30.0
    assert delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == ("failed", 2, None)
    assert "ConnectionError" in delivery.last_error


def test_an_operator_replays_deliveries_from_the_admin(tenant, integration, receiver) -> None:
    tenant_suspend(tenant=tenant, actor=integration.principal)
    delivery = Delivery.objects.get()
    delivery_attempt(delivery_id=delivery.pk)
    operator = Client()
    operator.force_login(integration.principal)
    assert operator.get("/admin/billing/delivery/").status_code == 200
    page = operator.get(f"/admin/billing/delivery/{delivery.pk}/change/")
    assert page.status_code == 200

    replayed = operator.post(
        "/admin/billing/delivery/", {"action": "replay", "_selected_action": [delivery.pk]}
    )
    assert replayed.status_code == 302
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    assert delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    first, second = receiver.events()
    assert first == second  # the same event, same id: the receiver can tell it is a repeat
