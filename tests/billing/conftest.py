"""An integration with a signing key, its operator principal, and a way to deliver signed
events; the pvesim cluster, worker and helpers come from the guests' tests."""

import json
import time

import pytest
from django.test import Client

from apps.billing.models import Integration, IntegrationKey
from apps.billing.signing import sign
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from tests.guests.conftest import cluster, worker  # noqa: F401 (fixtures)

KEY = "whsec-current-key"


@pytest.fixture
def integration() -> Integration:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    principal = user_create(userid="billing@pve", is_staff=True)
    integration = Integration.objects.create(name="whmcs", principal=principal)
    IntegrationKey.objects.create(integration=integration, label="current", secret=KEY)
    return integration


def deliver(
    payload: dict | bytes,
    *,
    key: str = KEY,
    timestamp: int | None = None,
    signed_body: bytes | None = None,
    client: Client | None = None,
):
    """POST the event signed with `key` (over `signed_body` when given, to tamper with it)."""
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    header = sign(key=key, content=signed_body or body, timestamp=timestamp)
    return (client or Client()).post(
        "/billing/webhooks/",
        body,
        content_type="application/json",
        HTTP_PORTAL_SIGNATURE=header,
    )


def poll(event_id: str, *, key: str = KEY):
    path = f"/billing/webhooks/{event_id}/"
    return Client().get(path, HTTP_PORTAL_SIGNATURE=sign(key=key, content=path.encode()))


def event(event_id: str, type_: str, **data: object) -> dict:
    return {"id": event_id, "type": type_, "created": int(time.time()), "data": data}
