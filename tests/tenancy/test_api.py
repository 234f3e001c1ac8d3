"""Plans, templates and a tenant's quota use through the API."""

import pytest
from rest_framework.test import APIClient

from apps.clusters.models import Cluster
from apps.guests.models import Guest
from apps.identity.services.users import user_create
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_reserve, quota_set

pytestmark = pytest.mark.django_db


def test_catalogue_and_quota_use(client) -> None:
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    Guest.objects.create(
        vmid=9000, cluster=cluster, node="pve1", type="qemu", template=True, name="debian12-cloud"
    )
    Plan.objects.create(name="Small", slug="small", cores=2, memory_mb=2048, disk_gb=40)
    Plan.objects.create(name="Old", slug="old", cores=1, memory_mb=512, disk_gb=8, active=False)
    acme = Tenant.objects.create(name="ACME", slug="acme")
    quota_set(tenant=acme, limits=Resources(guests=3, vcpus=8, memory_mb=8192, disk_gb=100))
    quota_reserve(tenant=acme, need=Resources(guests=1, vcpus=2), in_use=Resources)
    api = APIClient()
    api.force_authenticate(user_create(userid="alice@pve", password="x", tenant=acme))

    assert [p["slug"] for p in api.get("/api/v1/plans/").json()["results"]] == ["small"]
    assert api.get("/api/v1/templates/").json()["results"] == [
        {"vmid": 9000, "name": "debian12-cloud", "type": "qemu", "cluster": "c", "node": "pve1"}
    ]
    quota = api.get("/api/v1/tenants/acme/quota/").json()
    assert quota["limits"]["guests"] == 3
    assert (quota["used"]["guests"], quota["used"]["vcpus"]) == (1, 2)
    assert APIClient().get("/api/v1/plans/").status_code == 401


def test_tenant_status_changes_only_through_the_back_office_actions(client) -> None:
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    acme = Tenant.objects.create(name="ACME", slug="acme")

    client.post("/admin/tenancy/tenant/", {"action": "suspend", "_selected_action": [acme.pk]})
    acme.refresh_from_db()
    assert acme.status == "suspended"
    client.post("/admin/tenancy/tenant/", {"action": "unsuspend", "_selected_action": [acme.pk]})
    acme.refresh_from_db()
    assert acme.status == "active"
    page = client.get(f"/admin/tenancy/tenant/{acme.pk}/change/").content.decode()
    assert 'name="status"' not in page
