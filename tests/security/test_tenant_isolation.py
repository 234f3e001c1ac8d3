"""Tenant A, calling every API endpoint with tenant B's object ids, gets 404 and changes nothing.
Lists show A's objects only; the operators' endpoints do not exist for A at all. The guest list
costs the same queries at 10 and 1,000 guests."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.access.services import acl_modify, pool_set_guest, token_create
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.clusters.models import Cluster, Node
from apps.guests.models import Guest
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.tenancy.models import Plan, Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    Node.objects.create(cluster=cluster, name="pve1", online=True)
    tenants = {slug: Tenant.objects.create(name=slug, slug=slug) for slug in ("a", "b")}
    guests = {}
    for slug, vmid in (("a", 100), ("b", 200)):
        guests[slug] = Guest.objects.create(
            vmid=vmid,
            cluster=cluster,
            node="pve1",
            type="qemu",
            tenant=tenants[slug],
            pool=slug,
            status="stopped",
        )
        pool_set_guest(vmid=vmid, pool_name=slug)
    Plan.objects.create(name="S", slug="s", cores=1, memory_mb=512, disk_gb=8)
    alice = user_create(userid="alice@pve", password="x", tenant=tenants["a"])
    acl_modify(path="/pool/a", roles=["PVEVMAdmin"], users=["alice@pve"])
    operation = operation_create(
        kind="guest.start",
        cluster=cluster,
        guest=guests["b"],
        tenant=tenants["b"],
        target="/vms/200",
        actor=Actor.system(),
        steps=[("guest_power", {"action": "start"})],
    )
    client = APIClient()
    client.force_authenticate(alice)
    token, secret = token_create(user=alice, name="ci", privsep=False)
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"PVEAPIToken={token.tokenid}={secret}")
    return {
        "client": client,
        "token_client": token_client,
        "operation_b": operation,
        "cluster": cluster,
    }


FOREIGN_REQUESTS = [
    ("get", "/api/v1/guests/200/"),
    ("delete", "/api/v1/guests/200/"),
    ("post", "/api/v1/guests/200/status/start/"),
    ("post", "/api/v1/guests/200/status/stop/"),
    ("post", "/api/v1/guests/200/resize/"),
    ("post", "/api/v1/guests/200/reinstall/"),
    ("post", "/api/v1/guests/200/clone/"),
    ("patch", "/api/v1/guests/200/"),
    ("get", "/api/v1/guests/200/snapshots/"),
    ("post", "/api/v1/guests/200/snapshots/"),
    ("delete", "/api/v1/guests/200/snapshots/before_upgrade/"),
    ("post", "/api/v1/guests/200/snapshots/before_upgrade/rollback/"),
    ("get", "/api/v1/guests/200/backups/"),
    ("post", "/api/v1/guests/200/backups/"),
    ("get", "/api/v1/tenants/b/quota/"),
    ("get", "/api/v1/operations/{operation_b}/"),
    ("get", "/api/v1/operations/{operation_b}/log/"),
    ("post", "/api/v1/operations/{operation_b}/cancel/"),
]


@pytest.mark.parametrize(("method", "url"), FOREIGN_REQUESTS)
def test_foreign_objects_are_not_found(world, method, url) -> None:
    operations_before = Operation.objects.count()
    response = getattr(world["client"], method)(url.format(operation_b=world["operation_b"].pk))
    assert response.status_code == 404
    assert Operation.objects.count() == operations_before


# Clusters and nodes are the operators' business: a tenant must not even learn their names.
OPERATOR_ONLY_REQUESTS = [
    ("get", "/api/v1/clusters/"),
    ("get", "/api/v1/clusters/c/"),
    ("post", "/api/v1/clusters/c/sync/"),
    ("post", "/api/v1/clusters/c/test/"),
    ("get", "/api/v1/clusters/c/nodes/"),
    ("get", "/api/v1/clusters/c/nodes/pve1/"),
    ("post", "/api/v1/clusters/c/nodes/pve1/maintenance/"),
]


def _call(client: APIClient, method: str, url: str):
    if method == "post":
        return client.post(url, {"maintenance": True}, format="json")
    return getattr(client, method)(url)


@pytest.mark.parametrize("via", ["client", "token_client"])
@pytest.mark.parametrize(("method", "url"), OPERATOR_ONLY_REQUESTS)
def test_operator_endpoints_are_not_found_by_tenant_users(world, via, method, url) -> None:
    audit_events_before = AuditEvent.objects.count()
    assert _call(world[via], method, url).status_code == 404
    assert AuditEvent.objects.count() == audit_events_before
    assert not Node.objects.filter(maintenance=True).exists()


@pytest.mark.parametrize(("method", "url"), OPERATOR_ONLY_REQUESTS)
def test_operator_endpoints_exist_for_operators(world, method, url) -> None:
    """The 404s above come from the scoping, not from a mistyped URL."""
    operator = APIClient()
    operator.force_authenticate(user_create(userid="op@pve", password="x", is_staff=True))
    assert _call(operator, method, url).status_code in (200, 202)


def test_creating_in_a_foreign_tenant_is_not_found(world) -> None:
    response = world["client"].post(
        "/api/v1/guests/",
        {"name": "x", "plan": "s", "template": 9000, "tenant": "b"},
        format="json",
    )
    assert response.status_code == 404


def test_lists_show_only_the_tenants_own_objects(world) -> None:
    client = world["client"]
    assert [g["vmid"] for g in client.get("/api/v1/guests/").json()["results"]] == [100]
    assert [t["slug"] for t in client.get("/api/v1/tenants/").json()["results"]] == ["a"]
    assert client.get("/api/v1/operations/").json()["results"] == []
    assert client.get("/api/v1/tenants/a/quota/").status_code == 200


def test_every_api_route_is_covered_by_this_matrix() -> None:
    """Every API route that names an object is called above with another tenant's object (or
    is operators-only); the rest are lists and catalogues, scoped per actor or the same for
    everyone. A new route fails this test until it is added."""
    from django.urls import resolve

    from portal import api_urls

    called = {
        resolve(url.format(operation_b="00000000-0000-0000-0000-000000000000")).route
        for _method, url in FOREIGN_REQUESTS + OPERATOR_ONLY_REQUESTS
    }
    lists_and_catalogues = {
        "api/v1/guests/",
        "api/v1/operations/",
        "api/v1/tenants/",
        "api/v1/plans/",
        "api/v1/templates/",
        "api/v1/images/",
        "api/schema/",
        "api/docs/",
        "api/redoc/",
        # Answers per VMID, a foreign one as "no such guest": test_bulk_actions_refuse_...
        "api/v1/guests/bulk/status/<str:action>/",
    }
    routes = {f"api/{pattern.pattern}" for pattern in api_urls.urlpatterns}
    assert routes - lists_and_catalogues - called == set()


def test_guest_list_queries_do_not_grow_with_the_number_of_guests(world) -> None:
    client = world["client"]

    def queries_for_list() -> int:
        client.get("/api/v1/guests/")  # warm the compiled access model
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/guests/?limit=1000").status_code == 200
        return len(captured)

    def add_guests(start: int, count: int) -> None:
        tenant = Tenant.objects.get(slug="a")
        Guest.objects.bulk_create(
            Guest(
                vmid=vmid,
                cluster=world["cluster"],
                node="pve1",
                type="qemu",
                tenant=tenant,
                pool="a",
                status="running",
            )
            for vmid in range(start, start + count)
        )
        for vmid in range(start, start + count):
            pool_set_guest(vmid=vmid, pool_name="a")

    add_guests(1000, 9)
    at_ten = queries_for_list()
    add_guests(5000, 990)
    at_thousand = queries_for_list()

    assert at_ten == at_thousand
    assert len(client.get("/api/v1/guests/?limit=1000").json()["results"]) == 1000


def test_bulk_actions_refuse_foreign_guests_one_by_one(world) -> None:
    response = world["client"].post(
        "/api/v1/guests/bulk/status/start/", {"vmids": [200, 424242]}, format="json"
    )
    assert response.status_code == 202
    assert response.json() == {
        "operations": [],
        "refused": {"200": "no such guest", "424242": "no such guest"},
    }
