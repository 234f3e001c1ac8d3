"""Tenant A, calling every API endpoint with tenant B's object ids, gets 404 and changes nothing.
Lists show A's objects only; the operators' endpoints do not exist for A at all. The guest list
costs the same queries at 10 and 1,000 guests."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.access.services import acl_modify, pool_set_guest, token_create
from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.backups.models import Backup, BackupSchedule
from apps.clusters.models import Cluster, Node
from apps.consoles.models import ConsoleTicket
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
    backups = {
        slug: Backup.objects.create(
            cluster=cluster,
            tenant=tenants[slug],
            guest=guests[slug],
            vmid=guests[slug].vmid,
            storage="local",
            volid=f"local:backup/vzdump-qemu-{guests[slug].vmid}-2026_01_01-00_00_00.vma.zst",
        )
        for slug in ("a", "b")
    }
    # A backup of a guest tenant B deleted: reached through B's pool, not a guest.
    orphan_b = Backup.objects.create(
        cluster=cluster,
        tenant=tenants["b"],
        vmid=300,
        storage="local",
        volid="local:backup/vzdump-qemu-300-2026_01_01-00_00_00.vma.zst",
    )
    schedule_b = BackupSchedule.objects.create(tenant=tenants["b"], schedule="02:30")
    client = APIClient()
    client.force_authenticate(alice)
    token, secret = token_create(user=alice, name="ci", privsep=False)
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"PVEAPIToken={token.tokenid}={secret}")
    return {
        "client": client,
        "alice": alice,
        "token_client": token_client,
        "operation_b": operation,
        "cluster": cluster,
        "ids": {
            "operation_b": operation.pk,
            "backup_b": backups["b"].pk,
            "orphan_b": orphan_b.pk,
            "schedule_b": schedule_b.pk,
        },
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
    ("get", "/api/v1/backups/{backup_b}/"),
    ("patch", "/api/v1/backups/{backup_b}/"),
    ("delete", "/api/v1/backups/{backup_b}/"),
    ("post", "/api/v1/backups/{backup_b}/restore/"),
    ("get", "/api/v1/backups/{orphan_b}/"),
    ("delete", "/api/v1/backups/{orphan_b}/"),
    ("post", "/api/v1/backups/{orphan_b}/restore/"),
    ("get", "/api/v1/backup-schedules/{schedule_b}/"),
    ("put", "/api/v1/backup-schedules/{schedule_b}/"),
    ("delete", "/api/v1/backup-schedules/{schedule_b}/"),
    ("get", "/api/v1/tenants/b/quota/"),
    ("get", "/api/v1/operations/{operation_b}/"),
    ("get", "/api/v1/operations/{operation_b}/log/"),
    ("post", "/api/v1/operations/{operation_b}/cancel/"),
]


@pytest.mark.parametrize(("method", "url"), FOREIGN_REQUESTS)
def test_foreign_objects_are_not_found(world, method, url) -> None:
    operations_before = Operation.objects.count()
    schedules_before = list(BackupSchedule.objects.values())
    response = getattr(world["client"], method)(url.format(**world["ids"]))
    assert response.status_code == 404
    assert Operation.objects.count() == operations_before
    assert list(BackupSchedule.objects.values()) == schedules_before


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


# Console pages (web, with a session): another tenant's guest, and the operators' node shells.
CONSOLE_PAGES = [
    ("get", "/guests/200/console/"),
    ("post", "/guests/200/console/ticket/"),
    ("get", "/guests/200/console/serial0/"),
    ("post", "/guests/200/console/serial0/ticket/"),
    ("get", "/clusters/c/nodes/pve1/shell/"),
    ("post", "/clusters/c/nodes/pve1/shell/ticket/"),
]


@pytest.mark.parametrize(("method", "url"), CONSOLE_PAGES)
def test_console_pages_are_not_found_by_tenant_users(world, method, url) -> None:
    client = Client()
    client.force_login(world["alice"])
    assert getattr(client, method)(url).status_code == 404
    assert not ConsoleTicket.objects.exists()


@pytest.mark.parametrize(("method", "url"), [r for r in CONSOLE_PAGES if "/shell/" in r[1]])
def test_node_shell_pages_exist_for_operators(world, method, url) -> None:
    operator = Client()
    operator.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    assert getattr(operator, method)(url).status_code == 200


def test_every_console_route_is_covered() -> None:
    from django.urls import resolve

    from apps.consoles.urls import urlpatterns

    called = {resolve(url).route for _method, url in CONSOLE_PAGES}
    assert {str(pattern.pattern) for pattern in urlpatterns} - called == set()


# The back-office (web, with a session; tests/backoffice covers every route): missing for
# tenant users, whatever the method.
BACKOFFICE_REQUESTS = [
    ("get", "/operator/"),
    ("get", "/operator/tree/?view=pool"),
    ("get", "/operator/tree/pools/b/"),
    ("get", "/operator/search/?q=200"),
    ("get", "/operator/tenants/"),
    ("post", "/operator/tenants/b/suspend/"),
    ("get", "/operator/operations/?tenant=b"),
    ("get", "/operator/audit/"),
    ("post", "/operator/realms/pve/sync/"),
]


@pytest.mark.parametrize(("method", "url"), BACKOFFICE_REQUESTS)
def test_back_office_is_not_found_by_tenant_users(world, method, url) -> None:
    client = Client()
    client.force_login(world["alice"])
    audit_events_before = AuditEvent.objects.count()
    assert getattr(client, method)(url).status_code == 404
    assert AuditEvent.objects.count() == audit_events_before
    assert Tenant.objects.get(slug="b").status == "active"


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
    assert [b["vmid"] for b in client.get("/api/v1/backups/").json()] == [100]
    assert client.get("/api/v1/backup-schedules/").json() == []
    assert client.get("/api/v1/tenants/a/quota/").status_code == 200


def test_every_api_route_is_covered_by_this_matrix() -> None:
    """Every API route that names an object is called above with another tenant's object (or
    is operators-only); the rest are lists and catalogues, scoped per actor or the same for
    everyone. A new route fails this test until it is added."""
    from django.urls import resolve

    from portal import api_urls

    called = {
        resolve(
            url.format(
                operation_b="00000000-0000-0000-0000-000000000000",
                backup_b=1,
                orphan_b=1,
                schedule_b=1,
            )
        ).route
        for _method, url in FOREIGN_REQUESTS + OPERATOR_ONLY_REQUESTS
    }
    lists_and_catalogues = {
        "api/v1/guests/",
        "api/v1/backups/",
        "api/v1/backup-schedules/",
        "api/v1/operations/",
        "api/v1/tenants/",
        "api/v1/plans/",
        "api/v1/templates/",
        "api/v1/images/",
        # The caller's tenant's usage; another's (?tenant=) is not found:
        # test_usage_shows_only_the_tenants_own_records
        "api/v1/usage",
        "api/v1/usage/",
        "api/schema/",
        "api/docs/",
        "api/redoc/",
        # Answers per VMID, a foreign one as "no such guest": test_bulk_actions_refuse_...
        "api/v1/guests/bulk/status/<str:action>/",
    }
    routes = {f"api/{pattern.pattern}" for pattern in api_urls.urlpatterns}
    assert routes - lists_and_catalogues - called == set()


def test_usage_shows_only_the_tenants_own_records(world) -> None:
    from django.utils import timezone

    from apps.billing.models import UsageRecord

    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    for slug, vmid in (("a", 100), ("b", 200)):
        UsageRecord.objects.create(
            tenant=Tenant.objects.get(slug=slug), vmid=vmid, hour=hour, computed_at=hour
        )
    for via in ("client", "token_client"):
        client = world[via]
        assert [row["vmid"] for row in client.get("/api/v1/usage").json()] == [100]
        assert [row["vmid"] for row in client.get("/api/v1/usage/?tenant=a").json()] == [100]
        foreign = client.get("/api/v1/usage/?tenant=b")
        assert foreign.status_code == 404
        assert "200" not in foreign.content.decode()
        assert "b,200" not in client.get("/api/v1/usage/?format=csv").content.decode()


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


@pytest.mark.parametrize("via", ["client", "token_client"])
def test_billing_webhooks_answer_only_their_integrations_signature(world, via) -> None:
    """A tenant's session or API token opens neither the webhook nor another's event log."""
    from apps.billing.models import BillingEvent, Integration

    operator = user_create(userid="billing@pve", password="x", is_staff=True)
    integration = Integration.objects.create(name="whmcs", principal=operator)
    BillingEvent.objects.create(integration=integration, event_id="evt-b", body_sha256="0")
    client = world[via]
    status = client.get("/billing/webhooks/evt-b/")
    assert status.status_code == 401
    assert "evt-b" not in status.content.decode()
    posted = client.post(
        "/billing/webhooks/",
        {"id": "evt-a", "type": "service.suspend", "data": {"customer": "b"}},
        format="json",
    )
    assert posted.status_code == 401
    assert list(BillingEvent.objects.values_list("event_id", flat=True)) == ["evt-b"]
