"""Tenants (use against quota, suspend and unsuspend through the services, audited), plans and
the template catalogue."""

import re

import pytest

from apps.audit.models import AuditEvent
from apps.guests.models import Guest, Snapshot
from apps.operations.models import Operation
from apps.tenancy.models import Plan, Reservation, Tenant

pytestmark = pytest.mark.django_db


def tenant_row(page: str, slug: str) -> str:
    row = page[page.index(f'data-tenant="{slug}"') :]
    return row[: row.index("</tr>")]


def test_tenant_list_shows_status_and_use_against_quota(backoffice) -> None:
    guests = backoffice.portal.add_guests(2)
    Snapshot.objects.create(guest=guests[0], name="before-upgrade")
    Reservation.objects.create(tenant=backoffice.portal.acme, guests=1, vcpus=2, memory_mb=1024)
    Reservation.objects.create(
        tenant=backoffice.portal.acme, guests=5, released_at="2026-01-01T00:00:00Z"
    )
    Guest.objects.filter(pk=guests[1].pk).update(status="creating")  # counted by reservation
    page = backoffice.client.get("/operator/tenants/").content.decode()
    acme = tenant_row(page, "acme")
    usage = dict(re.findall(r'data-usage="(\w+)">([^<]*)<', acme))
    assert usage == {
        "guests": "2 / 3 ",
        "vcpus": "3 / 4 ",
        "memory_mb": "1536 / 4096 MiB",
        "disk_gb": "5 / 100 GiB",
        "snapshots": "1 / 5 ",
    }
    assert "Active" in acme
    assert "Suspend acme" in acme
    other = dict(re.findall(r'data-usage="(\w+)">([^<]*)<', tenant_row(page, "other")))
    assert other["guests"] == "1 / 3 "


def test_tenant_list_filters_by_status(backoffice) -> None:
    Tenant.objects.filter(slug="other").update(status="suspended")
    page = backoffice.client.get("/operator/tenants/", {"status": "suspended"}).content.decode()
    assert 'data-tenant="other"' in page
    assert 'data-tenant="acme"' not in page
    assert "Unsuspend other" in page
    page = backoffice.client.get("/operator/tenants/", {"status": "bogus"}).content.decode()
    assert 'data-tenant="other"' in page
    assert 'data-tenant="acme"' in page


def test_suspend_stops_running_guests_and_is_audited_then_unsuspend(backoffice) -> None:
    backoffice.portal.add_guests(3)  # two running, one stopped
    response = backoffice.client.post("/operator/tenants/acme/suspend/", follow=True)
    assert "acme suspended, 2 guests stopping." in response.content.decode()
    assert Tenant.objects.get(slug="acme").status == "suspended"
    assert Tenant.objects.get(slug="other").status == "active"
    stops = Operation.objects.filter(tenant__slug="acme", kind="guest.stop")
    assert stops.count() == 2
    assert set(stops.values_list("actor", flat=True)) == {"op@pve"}
    event = AuditEvent.objects.get(action="tenancy.tenant_suspended")
    assert (event.actor, event.target) == ("op@pve", "acme")

    response = backoffice.client.post("/operator/tenants/acme/unsuspend/", follow=True)
    assert "acme unsuspended." in response.content.decode()
    assert Tenant.objects.get(slug="acme").status == "active"
    assert AuditEvent.objects.get(action="tenancy.tenant_unsuspended").actor == "op@pve"


def test_bad_tenant_actions_change_nothing(backoffice) -> None:
    events = AuditEvent.objects.count()
    response = backoffice.client.post("/operator/tenants/acme/unsuspend/", follow=True)
    assert "is active, not suspended" in response.content.decode()
    assert backoffice.client.post("/operator/tenants/nope/suspend/").status_code == 404
    assert backoffice.client.get("/operator/tenants/acme/suspend/").status_code == 405
    Tenant.objects.filter(slug="other").update(status="terminated")
    response = backoffice.client.post("/operator/tenants/other/suspend/", follow=True)
    assert "is terminated" in response.content.decode()
    assert dict(Tenant.objects.values_list("slug", "status")) == {
        "acme": "active",
        "other": "terminated",
    }
    assert AuditEvent.objects.count() == events
    assert not Operation.objects.exists()


def test_plans_list_every_plan_and_link_to_the_admin(backoffice) -> None:
    retired = Plan.objects.create(
        name="Old", slug="old", cores=1, memory_mb=256, disk_gb=5, active=False
    )
    retired.clusters.add(backoffice.portal.cluster)
    backoffice.portal.add_guests(2)
    page = backoffice.client.get("/operator/plans/").content.decode()
    small = page[page.index('data-plan="small"') :]
    small = small[: small.index("</tr>")]
    assert "<td>2</td>" in small  # guests on it
    assert f"/admin/tenancy/plan/{backoffice.portal.small.pk}/change/" in small
    old = page[page.index('data-plan="old"') :]
    assert "not on offer" in old[: old.index("</tr>")]
    assert "c1" in old[: old.index("</tr>")]


def test_catalogue_per_cluster(backoffice) -> None:
    page = backoffice.client.get("/operator/templates/").content.decode()
    cluster = page[page.index('data-cluster="c1"') :]
    assert "9000 debian12-cloud" in cluster
    assert "local:iso/debian-12.iso" in cluster
    assert "local:vztmpl/alpine-3.19.tar.xz" in cluster
    page = backoffice.client.get("/operator/templates/", {"cluster": "nope"}).content.decode()
    assert 'data-cluster="c1"' not in page
