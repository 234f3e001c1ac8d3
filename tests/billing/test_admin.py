"""Operators manage integrations and keys in the admin; the event log is read-only there."""

import pytest
from django.test import Client

from apps.billing.models import BillingEvent
from tests.billing.conftest import deliver, event

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(integration) -> Client:
    client = Client()
    client.force_login(integration.principal)
    return client


def test_integrations_and_their_keys_are_edited_in_the_admin(integration, operator_client) -> None:
    page = operator_client.get(f"/admin/billing/integration/{integration.pk}/change/")
    assert page.status_code == 200
    assert b"keys-0-secret" in page.content
    assert operator_client.get("/admin/billing/integration/add/").status_code == 200


def test_the_event_log_is_read_only(integration, operator_client) -> None:
    deliver(event("evt-1", "service.teleport"))
    stored = BillingEvent.objects.get()
    assert operator_client.get("/admin/billing/billingevent/").status_code == 200
    view = operator_client.get(f"/admin/billing/billingevent/{stored.pk}/change/")
    assert view.status_code == 200
    assert b'name="_save"' not in view.content
    assert operator_client.get("/admin/billing/billingevent/add/").status_code == 403
    deleted = operator_client.post(f"/admin/billing/billingevent/{stored.pk}/delete/")
    assert deleted.status_code == 403
    assert BillingEvent.objects.filter(pk=stored.pk).exists()
