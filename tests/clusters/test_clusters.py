"""Registering clusters, inventory sync and readiness, against pvesim."""

import pytest
from django.core.exceptions import ValidationError

from apps.audit.models import AuditEvent
from apps.clusters.models import Cluster, Node, Storage
from apps.clusters.services import cluster_register, inventory_sync

pytestmark = pytest.mark.django_db


def register(pvesim, token, **overrides):
    values = {
        "name": "sim",
        "api_addresses": [f"{pvesim.host}:{pvesim.port}"],
        "token_id": token.token_id,
        "token_secret": token.secret,
        "fingerprint": pvesim.fingerprint,
    }
    values.update(overrides)
    return cluster_register(**values)


def test_registration_tests_the_connection_and_stores_the_secret_encrypted(pvesim, pve_token):
    cluster = register(pvesim, pve_token, fingerprint=pvesim.fingerprint.replace(":", "").lower())

    assert cluster.pve_cluster_name == "pvesim"
    assert cluster.pve_version.startswith("9.")
    assert cluster.fingerprint == pvesim.fingerprint  # normalised to PVE's display form
    assert AuditEvent.objects.filter(action="clusters.cluster_registered", target="sim").exists()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT token_secret FROM clusters_cluster WHERE id = %s", [cluster.pk])
        (stored,) = cursor.fetchone()
    assert pve_token.secret not in stored
    assert Cluster.objects.get(pk=cluster.pk).token_secret == pve_token.secret


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"token_secret": "wrong"}, "connection test failed"),
        ({"fingerprint": "AB" * 32}, "TLS certificate does not match its pin"),
        ({"fingerprint": "not-a-fingerprint"}, "64 hex digits"),
        ({"token_id": "root@pam"}, "user@realm!name"),
        ({"fingerprint": ""}, "fingerprint or give a CA bundle"),
        ({"vmid_range_start": 5000, "vmid_range_end": 4000}, "vmid_range"),
    ],
)
def test_registration_refuses_what_it_could_not_use(pvesim, pve_token, overrides, message):
    with pytest.raises(ValidationError, match=message):
        register(pvesim, pve_token, **overrides)
    assert not Cluster.objects.exists()


def test_inventory_sync_mirrors_nodes_and_storages_and_flags_offline_nodes(
    pvesim, pve_token, pvesim_faults
):
    cluster = register(pvesim, pve_token)
    report = inventory_sync(cluster=cluster)
    assert sorted(report.nodes_added) == ["pve1", "pve2", "pve3"]
    assert Storage.objects.filter(cluster=cluster, storage="shared-nfs").count() == 3
    assert Node.objects.get(cluster=cluster, name="pve1").memory_total > 0

    pvesim_faults(offline_nodes=["pve3"])
    again = inventory_sync(cluster=cluster)
    assert again.nodes_added == []
    assert not Node.objects.get(cluster=cluster, name="pve3").online
    assert Node.objects.get(cluster=cluster, name="pve2").online
    cluster.refresh_from_db()
    assert cluster.last_synced_at is not None


def test_readyz_includes_every_registered_cluster(client, pvesim, pve_token):
    from apps.identity.services.users import user_create

    cluster = register(pvesim, pve_token)
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    body = client.get("/readyz").json()
    assert body["checks"]["clusters"]["ok"] is True

    Cluster.objects.filter(pk=cluster.pk).update(api_addresses=["127.0.0.1:1"])
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "sim:" in response.json()["checks"]["clusters"]["detail"]


def test_an_auditor_token_is_enough_for_registration_and_inventory(pvesim, pvesim_root):
    """The README's claim: Sys.Audit, Datastore.Audit and VM.Audit on / (PVEAuditor)."""
    from tests.services.pve_access import make_token

    token = make_token(pvesim_root, privsep=1)
    pvesim_root.access.acl.put(path="/", tokens=token.token_id, roles="PVEAuditor")
    cluster = register(pvesim, token)
    report = inventory_sync(cluster=cluster)
    assert len(report.nodes_added) == 3
    assert report.storages_added

    bare = make_token(pvesim_root, privsep=1)  # privilege separated, no ACL: sees nothing
    with pytest.raises(ValidationError, match="connection test failed"):
        register(pvesim, bare, name="bare")
