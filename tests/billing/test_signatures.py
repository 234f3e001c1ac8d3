"""Signed webhooks: who may send them, for how long, and what a repeated delivery gets."""

import json
import subprocess
import time

import pytest
from django.db import connection
from django.test import Client

from apps.audit.models import AuditEvent
from apps.billing.models import BillingEvent, Customer, IntegrationKey, Service
from apps.billing.signing import SignatureError, sign, verify
from apps.tenancy.models import Plan, Tenant
from tests.billing.conftest import KEY, deliver, event, poll

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(integration) -> Service:
    tenant = Tenant.objects.create(name="ACME", slug="whmcs-42")
    customer = Customer.objects.create(integration=integration, external_id="42", tenant=tenant)
    plan = Plan.objects.create(name="Small", slug="small", cores=1, memory_mb=512, disk_gb=8)
    return Service.objects.create(
        integration=integration, external_id="svc-1", customer=customer, plan=plan
    )


def renew(event_id: str = "evt-1", paid_until: str = "2027-01-31") -> dict:
    return event(event_id, "service.renew", service="svc-1", paid_until=paid_until)


def processed(event_id: str) -> int:
    return AuditEvent.objects.filter(
        action="billing.event_processed", target=f"whmcs:{event_id}"
    ).count()


def test_a_validly_signed_event_is_stored_acted_on_and_answered_202(service) -> None:
    response = deliver(renew())
    assert response.status_code == 202, response.content
    assert response.json()["result"] == "accepted"
    assert response.json()["paid_until"] == "2027-01-31"
    service.refresh_from_db()
    assert str(service.paid_until) == "2027-01-31"
    stored = BillingEvent.objects.get(event_id="evt-1")
    assert (stored.type, stored.answer_status, stored.service) == ("service.renew", 202, service)


def test_a_wrong_key_is_refused_and_nothing_is_stored(service) -> None:
    response = deliver(renew(), key="not-the-key")
    assert response.status_code == 401
    assert "does not match" in response.json()["error"]
    assert not BillingEvent.objects.exists()
    service.refresh_from_db()
    assert service.paid_until is None


def test_old_and_new_keys_both_work_during_a_rotation(integration, service) -> None:
    IntegrationKey.objects.create(integration=integration, label="next", secret="whsec-next")
    assert deliver(renew("evt-old"), key=KEY).status_code == 202
    assert deliver(renew("evt-new"), key="whsec-next").status_code == 202
    # A sender mid-rotation may sign with both at once.
    body = json.dumps(renew("evt-both")).encode()
    timestamp = int(time.time())
    both = (
        f"{sign(key=KEY, content=body, timestamp=timestamp)},v1="
        + sign(key="whsec-next", content=body, timestamp=timestamp).split("v1=")[1]
    )
    assert verify(header=both, content=body, keys=["whsec-next"]) == "whsec-next"
    IntegrationKey.objects.filter(secret__isnull=False, label="current").update(active=False)
    assert deliver(renew("evt-late"), key=KEY).status_code == 401
    assert deliver(renew("evt-late"), key="whsec-next").status_code == 202


def test_the_key_is_stored_encrypted(integration) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM billing_integrationkey")
        (stored,) = cursor.fetchone()
    assert KEY not in stored
    assert IntegrationKey.objects.get().secret == KEY


def test_a_signature_older_than_five_minutes_is_refused(service) -> None:
    expired = deliver(renew(), timestamp=int(time.time()) - 301)
    assert expired.status_code == 401
    assert "more than 300 s" in expired.json()["error"]
    assert deliver(renew(), timestamp=int(time.time()) - 290).status_code == 202


def test_a_replayed_event_gets_the_same_answer_and_acts_once(service) -> None:
    first = deliver(renew())
    service.paid_until = None  # would be set again if the replay acted
    service.save()
    again = deliver(renew())
    assert again.status_code == first.status_code == 202
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    service.refresh_from_db()
    assert service.paid_until is None
    assert BillingEvent.objects.count() == 1
    assert processed("evt-1") == 1


def test_an_altered_body_is_refused(service) -> None:
    signed = json.dumps(renew()).encode()
    altered = json.dumps(renew(paid_until="2099-12-31")).encode()
    response = deliver(altered, signed_body=signed)
    assert response.status_code == 401
    assert not BillingEvent.objects.exists()


def test_an_event_id_reused_for_another_body_is_refused(service) -> None:
    assert deliver(renew()).status_code == 202
    reused = deliver(renew(paid_until="2099-12-31"))
    assert reused.status_code == 409
    assert "different body" in reused.json()["error"]
    service.refresh_from_db()
    assert str(service.paid_until) == "2027-01-31"


def test_unknown_types_are_stored_and_answered_400(integration) -> None:
    response = deliver(event("evt-x", "service.teleport", service="svc-1"))
    assert response.status_code == 400
    assert "unknown event type 'service.teleport'" in response.json()["error"]
    assert BillingEvent.objects.get(event_id="evt-x").answer_status == 400
    assert deliver(event("evt-x", "service.teleport", service="svc-1")).status_code == 400
    assert processed("evt-x") == 1


def test_bodies_that_are_not_events_are_refused(integration) -> None:
    assert deliver(b"not json").status_code == 400
    assert deliver({"type": "service.renew"}).status_code == 400
    assert not BillingEvent.objects.exists()


def test_passwords_never_reach_the_event_log(integration) -> None:
    deliver(event("evt-pw", "service.change_password", service="nope", password="s3cret-pw"))
    stored = BillingEvent.objects.get(event_id="evt-pw")
    assert stored.payload["data"]["password"] == "***"
    assert stored.answer_status == 404


def test_the_status_endpoint_is_signed_and_shows_the_stored_answer(service) -> None:
    deliver(renew())
    status = poll("evt-1")
    assert status.status_code == 200
    assert status.json()["status_code"] == 202
    assert status.json()["service"] == "svc-1"
    assert status.json()["service_state"] == "active"
    assert poll("evt-1", key="not-the-key").status_code == 401
    assert poll("evt-unknown").status_code == 404
    # A signature over another path does not open this one.
    header = sign(key=KEY, content=b"/billing/webhooks/evt-2/")
    assert Client().get("/billing/webhooks/evt-1/", HTTP_PORTAL_SIGNATURE=header).status_code == 401


def test_malformed_headers_are_refused() -> None:
    with pytest.raises(SignatureError, match="missing"):
        verify(header="", content=b"x", keys=[KEY])
    with pytest.raises(SignatureError, match="malformed"):
        verify(header="v1=abc", content=b"x", keys=[KEY])


def test_the_documented_openssl_command_makes_a_valid_signature() -> None:
    body = b'{"id":"evt-1001","type":"service.suspend","data":{"service":"42"}}'
    timestamp = int(time.time())
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", KEY, "-r"],
        input=f"{timestamp}.".encode() + body,
        capture_output=True,
        check=True,
    ).stdout.split()[0]
    header = f"t={timestamp},v1={digest.decode()}"
    assert verify(header=header, content=body, keys=[KEY]) == KEY
