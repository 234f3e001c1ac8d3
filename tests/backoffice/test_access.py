"""Every back-office page answers operators and is missing (404) for everyone else signed in,
tenant admins included, for every method; signing in comes first."""

import pytest
from django.test import Client
from django.urls import resolve

from apps.audit.models import AuditEvent
from apps.operations.models import Operation
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

PAGES = [
    "/operator/",
    "/operator/tree/",
    "/operator/tree/?view=pool",
    "/operator/tree/?view=folder",
    "/operator/tree/clusters/c1/nodes/pve1/",
    "/operator/tree/clusters/c1/types/qemu/",
    "/operator/tree/pools/acme/",
    "/operator/search/?q=web",
    "/operator/clusters/c1/storages/local/",
    "/operator/tenants/",
    "/operator/plans/",
    "/operator/templates/",
    "/operator/realms/",
    "/operator/operations/",
    "/operator/audit/",
]
ACTIONS = [
    "/operator/tenants/acme/suspend/",
    "/operator/tenants/other/unsuspend/",
    "/operator/realms/pve/test/",
    "/operator/realms/pve/sync/",
    "/operator/realms/pve/dry-run/",
    "/operator/operations/{operation}/cancel/",
    "/operator/operations/{operation}/retry/",
]


@pytest.fixture
def operation(backoffice) -> Operation:
    return backoffice.power_operation(backoffice.portal.foreign)


@pytest.mark.parametrize("url", PAGES)
def test_pages_answer_operators(backoffice, url) -> None:
    response = backoffice.client.get(url)
    assert response.status_code == 200
    assert "Back-office" in response.content.decode()


@pytest.mark.parametrize("who", ["tenant admin", "tenant user"])
@pytest.mark.parametrize("url", PAGES)
def test_pages_are_missing_for_tenant_users(backoffice, tenant_user, who, url) -> None:
    client = Client()
    client.force_login(backoffice.portal.alice if who == "tenant admin" else tenant_user)
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("who", ["tenant admin", "tenant user"])
@pytest.mark.parametrize("url", ACTIONS)
def test_actions_are_missing_for_tenant_users_and_change_nothing(
    backoffice, tenant_user, operation, who, url
) -> None:
    client = Client()
    client.force_login(backoffice.portal.alice if who == "tenant admin" else tenant_user)
    events = AuditEvent.objects.count()
    url = url.format(operation=operation.pk)
    assert client.post(url).status_code == 404
    assert client.get(url).status_code == 404  # not even "method not allowed"
    assert AuditEvent.objects.count() == events
    assert set(Tenant.objects.values_list("status", flat=True)) == {"active"}
    operation.refresh_from_db()
    assert operation.cancel_requested_by == ""
    assert Operation.objects.count() == 1


@pytest.mark.parametrize("url", [*PAGES, *ACTIONS])
def test_signed_out_visitors_are_sent_to_the_login(backoffice, url) -> None:
    response = Client().get(url.format(operation="00000000-0000-0000-0000-000000000000"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_every_back_office_route_is_covered() -> None:
    from apps.backoffice.urls import urlpatterns

    called = {
        resolve(url.split("?")[0].format(operation="00000000-0000-0000-0000-000000000000")).route
        for url in [*PAGES, *ACTIONS]
    }
    assert {str(pattern.pattern) for pattern in urlpatterns} - called == set()


def test_navigation_links_the_back_office_for_operators_only(backoffice) -> None:
    assert 'href="/operator/"' in backoffice.client.get("/").content.decode()
    assert 'href="/operator/"' not in backoffice.portal.client.get("/").content.decode()
