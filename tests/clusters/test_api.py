"""The operators' REST API for clusters and nodes, and the back-office's maintenance actions,
against a pvesim cluster."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.services import acl_modify, token_create
from apps.audit.models import AuditEvent
from apps.clusters.models import Cluster, Node, Storage
from apps.clusters.placement import NoCapacity, node_choose
from apps.clusters.services import cluster_register, inventory_sync
from apps.identity.services.users import user_create
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(pvesim, pve_token) -> Cluster:
    cluster = cluster_register(
        name="lab",
        api_addresses=[f"{pvesim.host}:{pvesim.port}"],
        token_id=pve_token.token_id,
        token_secret=pve_token.secret,
        fingerprint=pvesim.fingerprint,
        vmid_range_start=1000,
        vmid_range_end=1999,
    )
    inventory_sync(cluster=cluster)
    return cluster


@pytest.fixture
def operator():
    return user_create(userid="op@pve", password="x", is_staff=True)


@pytest.fixture
def api(operator) -> APIClient:
    client = APIClient()
    client.force_authenticate(operator)
    return client


def token_client(token_and_secret) -> APIClient:
    token, secret = token_and_secret
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"PVEAPIToken={token.tokenid}={secret}")
    return client


@pytest.fixture
def eager_celery():
    from portal.celery import app

    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = False


def test_operators_list_clusters_without_their_token(api, lab, pve_token) -> None:
    response = api.get("/api/v1/clusters/")

    assert response.status_code == 200
    assert pve_token.secret not in response.content.decode()
    [listed] = response.json()["results"]
    assert listed["name"] == "lab"
    assert listed["api_addresses"] == lab.api_addresses
    assert listed["pve_cluster_name"] == "pvesim"
    assert listed["pve_version"].startswith("9.")
    assert listed["last_synced_at"] is not None
    assert listed["last_error"] == ""
    assert (listed["vmid_range_start"], listed["vmid_range_end"]) == (1000, 1999)
    assert listed["node_count"] == 3
    assert listed["health"] == "ok"
    assert api.get("/api/v1/clusters/lab/").json() == listed
    assert api.get("/api/v1/clusters/nope/").status_code == 404


def test_health_filtering_and_ordering(api, lab) -> None:
    Cluster.objects.create(
        name="new", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    Cluster.objects.create(
        name="broken",
        api_addresses=["h"],
        token_id="a@pve!t",
        token_secret="s",
        fingerprint="AA",
        last_synced_at=timezone.now(),
        last_error="401 Unauthorized: invalid token value!",
    )

    def health() -> dict[str, str]:
        clusters = api.get("/api/v1/clusters/").json()["results"]
        return {cluster["name"]: cluster["health"] for cluster in clusters}

    assert health() == {"broken": "error", "lab": "ok", "new": "unknown"}
    # A node down in maintenance is expected; one down outside it is not.
    Node.objects.filter(cluster=lab, name="pve2").update(online=False, maintenance=True)
    assert health()["lab"] == "ok"
    Node.objects.filter(cluster=lab, name="pve2").update(maintenance=False)
    assert health()["lab"] == "degraded"
    # Vanished nodes are not counted.
    Node.objects.filter(cluster=lab, name="pve2").update(vanished_at=timezone.now())
    assert health()["lab"] == "ok"
    assert api.get("/api/v1/clusters/lab/").json()["node_count"] == 2

    errors = api.get("/api/v1/clusters/?health=error").json()["results"]
    assert [cluster["name"] for cluster in errors] == ["broken"]
    ordered = api.get("/api/v1/clusters/?ordering=-name").json()["results"]
    assert [cluster["name"] for cluster in ordered] == ["new", "lab", "broken"]
    paged = api.get("/api/v1/clusters/?limit=1&offset=1").json()
    assert (paged["count"], [c["name"] for c in paged["results"]]) == (3, ["lab"])


def test_sync_is_queued_and_runs_in_the_worker(
    api, lab, eager_celery, django_capture_on_commit_callbacks
) -> None:
    Node.objects.filter(cluster=lab, name="pve3").delete()
    Cluster.objects.filter(pk=lab.pk).update(last_synced_at=None)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = api.post("/api/v1/clusters/lab/sync/")

    assert response.status_code == 202
    assert response.json()["name"] == "lab"
    assert len(queued) == 1
    lab.refresh_from_db()
    assert lab.last_synced_at is not None
    assert lab.nodes.filter(name="pve3").exists()
    assert AuditEvent.objects.filter(
        action="clusters.sync_requested", actor="op@pve", target="lab"
    ).exists()


def test_connection_test_reports_success_and_pve_reason(api, lab) -> None:
    passed = api.post("/api/v1/clusters/lab/test/")
    assert passed.status_code == 200
    assert passed.json()["ok"] is True
    assert passed.json()["pve_version"].startswith("9.")
    assert passed.json()["node_count"] == 3

    Cluster.objects.filter(pk=lab.pk).update(token_secret="wrong")
    failed = api.post("/api/v1/clusters/lab/test/").json()
    assert failed["ok"] is False
    assert "wrong" not in failed["error"]
    assert failed["error"]


def test_nodes_list_and_detail_with_storages(api, lab) -> None:
    nodes = api.get("/api/v1/clusters/lab/nodes/").json()["results"]

    assert [node["name"] for node in nodes] == ["pve1", "pve2", "pve3"]
    pve1 = nodes[0]
    assert pve1["cluster"] == "lab"
    assert pve1["online"] is True
    assert pve1["maintenance"] is False
    assert pve1["cpu_count"] > 0
    assert 0 < pve1["memory_used"] < pve1["memory_total"]
    storages = {storage["storage"]: storage for storage in pve1["storages"]}
    assert "local" in storages
    assert set(storages["local"]) == {
        "storage",
        "type",
        "content",
        "shared",
        "available",
        "used",
        "total",
    }
    assert api.get("/api/v1/clusters/lab/nodes/pve1/").json() == pve1
    assert api.get("/api/v1/clusters/lab/nodes/pve9/").status_code == 404
    assert api.get("/api/v1/clusters/nope/nodes/").status_code == 404
    assert api.get("/api/v1/clusters/nope/nodes/pve1/").status_code == 404
    ordered = api.get("/api/v1/clusters/lab/nodes/?ordering=-name").json()["results"]
    assert [node["name"] for node in ordered] == ["pve3", "pve2", "pve1"]


def test_maintenance_is_audited_and_placement_skips_the_node(api, lab) -> None:
    url = "/api/v1/clusters/lab/nodes/{}/maintenance/"

    entered = api.post(url.format("pve1"), {"maintenance": True}, format="json")

    assert entered.status_code == 200
    assert entered.json()["maintenance"] is True
    assert entered.json()["storages"]
    assert Node.objects.get(cluster=lab, name="pve1").maintenance
    assert AuditEvent.objects.filter(
        action="clusters.node_maintenance_entered", actor="op@pve", target="lab/pve1"
    ).exists()
    api.post(url.format("pve1"), {"maintenance": True}, format="json")
    assert AuditEvent.objects.filter(action="clusters.node_maintenance_entered").count() == 1
    filtered = api.get("/api/v1/clusters/lab/nodes/?maintenance=true").json()["results"]
    assert [node["name"] for node in filtered] == ["pve1"]

    api.post(url.format("pve2"), {"maintenance": True}, format="json")
    for _attempt in range(3):
        assert node_choose(cluster=lab, memory_mb=512).name == "pve3"
    with pytest.raises(NoCapacity, match="outside maintenance"):
        node_choose(cluster=lab, memory_mb=512, among=["pve1", "pve2"])

    api.post(url.format("pve3"), {"maintenance": True}, format="json")
    with pytest.raises(NoCapacity):
        node_choose(cluster=lab, memory_mb=512)
    left = api.post(url.format("pve2"), {"maintenance": False}, format="json")
    assert left.json()["maintenance"] is False
    assert AuditEvent.objects.filter(
        action="clusters.node_maintenance_left", target="lab/pve2"
    ).exists()
    assert node_choose(cluster=lab, memory_mb=512).name == "pve2"

    assert api.post(url.format("pve1"), {}, format="json").status_code == 400


def test_back_office_actions_enter_and_leave_maintenance(client, operator, lab) -> None:
    client.force_login(operator)
    nodes = Node.objects.filter(cluster=lab, name__in=["pve1", "pve2"])
    selected = [node.pk for node in nodes]

    entered = client.post(
        "/admin/clusters/node/",
        {"action": "enter_maintenance", "_selected_action": selected},
        follow=True,
    )

    assert "Lab/pve1, lab/pve2: in maintenance" in entered.content.decode()
    assert set(Node.objects.filter(maintenance=True).values_list("name", flat=True)) == {
        "pve1",
        "pve2",
    }
    assert (
        AuditEvent.objects.filter(
            action="clusters.node_maintenance_entered", actor="op@pve"
        ).count()
        == 2
    )
    assert node_choose(cluster=lab, memory_mb=512).name == "pve3"

    client.post(
        "/admin/clusters/node/", {"action": "leave_maintenance", "_selected_action": selected[:1]}
    )
    assert list(Node.objects.filter(maintenance=True).values_list("name", flat=True)) == ["pve2"]
    assert AuditEvent.objects.filter(action="clusters.node_maintenance_left").count() == 1


def test_tenant_users_and_their_tokens_are_told_nothing_exists(lab) -> None:
    tenant = Tenant.objects.create(name="a", slug="a")
    alice = user_create(userid="alice@pve", password="x", tenant=tenant)
    # Even an ACL granting everything does not make a tenant user an operator.
    acl_modify(path="/", roles=["Administrator"], users=["alice@pve"])
    session = APIClient()
    session.force_authenticate(alice)
    token = token_client(token_create(user=alice, name="ci", privsep=False))

    for client in (session, token):
        assert client.get("/api/v1/clusters/").status_code == 404
        assert client.get("/api/v1/clusters/lab/nodes/pve1/").status_code == 404
        refused = client.post(
            "/api/v1/clusters/lab/nodes/pve1/maintenance/", {"maintenance": True}, format="json"
        )
        assert refused.status_code == 404
    assert not Node.objects.filter(maintenance=True).exists()


def test_operator_tokens_with_privilege_separation_need_their_own_acl(operator, lab) -> None:
    full = token_client(token_create(user=operator, name="full", privsep=False))
    separated_token = token_create(user=operator, name="ci")
    separated = token_client(separated_token)
    maintenance = "/api/v1/clusters/lab/nodes/pve1/maintenance/"

    assert full.get("/api/v1/clusters/").status_code == 200
    assert separated.get("/api/v1/clusters/").status_code == 404

    acl_modify(path="/", roles=["PVEAuditor"], tokens=[separated_token[0].tokenid])
    assert separated.get("/api/v1/clusters/").json()["count"] == 1
    # Auditing is not modifying: the token may see the node, not put it into maintenance.
    assert separated.post(maintenance, {"maintenance": True}, format="json").status_code == 403
    assert full.post(maintenance, {"maintenance": True}, format="json").status_code == 200


def test_list_queries_do_not_grow_with_clusters_nodes_and_storages(api, lab) -> None:
    def queries_for(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured)

    api.get("/api/v1/clusters/")  # warm the compiled access model
    clusters_before = queries_for("/api/v1/clusters/")
    nodes_before = queries_for("/api/v1/clusters/lab/nodes/")
    for index in range(5):
        Cluster.objects.create(
            name=f"more{index}",
            api_addresses=["h"],
            token_id="a@pve!t",
            token_secret="s",
            fingerprint="AA",
        )
    for index in range(5):
        node = Node.objects.create(cluster=lab, name=f"extra{index}", online=True)
        Storage.objects.create(cluster=lab, node=node, storage="local", type="dir")

    assert queries_for("/api/v1/clusters/") == clusters_before
    assert queries_for("/api/v1/clusters/lab/nodes/") == nodes_before
