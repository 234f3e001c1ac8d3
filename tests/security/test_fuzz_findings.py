"""What the schema fuzzer (test_api_fuzz.py) found, pinned as plain cases: usage bounds with
offsets PostgreSQL refuses or at datetime's ends, and an empty usage CSV, which lost its
columns and its Content-Type."""

import pytest
from rest_framework.test import APIClient

from apps.identity.services.users import user_create
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def client() -> APIClient:
    tenant = Tenant.objects.create(name="a", slug="a")
    api = APIClient()
    api.force_authenticate(user_create(userid="alice@pve", password="x", tenant=tenant))
    return api


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("from=2026-01-05T12:00:00%2B23:28&to=2026-01-06T12:00:00-18:22", 200),
        ("to=0001-01-01T00:00:00Z", 400),
        ("from=9999-12-31T23:00:00-23:00", 400),
    ],
)
def test_usage_bounds_anywhere_in_iso_8601_are_answered(client, query, status) -> None:
    assert client.get(f"/api/v1/usage/?{query}").status_code == status


def test_an_empty_usage_csv_still_names_its_columns(client) -> None:
    response = client.get("/api/v1/usage/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().startswith("tenant,hour,vmid,vcpu_hours,")
