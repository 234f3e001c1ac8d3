"""Registering clusters from the shell and the back-office; node maintenance; actions."""

import pytest
from django.core.management import CommandError, call_command

from apps.clusters.models import Cluster, Node
from apps.identity.services.users import user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    return client


def test_cluster_add_command_registers_and_syncs(pvesim, pve_token, capsys) -> None:
    call_command(
        "cluster_add",
        "lab",
        "--address",
        "127.0.0.1:1",
        "--address",
        f"{pvesim.host}:{pvesim.port}",
        "--token-id",
        pve_token.token_id,
        "--token-secret",
        pve_token.secret,
        "--fingerprint",
        pvesim.fingerprint,
        "--vmid-range",
        "1000-1999",
    )
    assert "Registered lab: PVE 9." in capsys.readouterr().out
    cluster = Cluster.objects.get(name="lab")
    assert (cluster.vmid_range_start, cluster.vmid_range_end) == (1000, 1999)
    assert cluster.nodes.count() == 3


def test_cluster_add_command_explains_a_refusal(pvesim, pve_token) -> None:
    with pytest.raises(CommandError, match="connection test failed"):
        call_command(
            "cluster_add",
            "lab",
            "--address",
            f"{pvesim.host}:{pvesim.port}",
            "--token-id",
            pve_token.token_id,
            "--token-secret",
            "wrong",
            "--fingerprint",
            pvesim.fingerprint,
        )
    with pytest.raises(CommandError, match="FIRST-LAST"):
        call_command(
            "cluster_add",
            "lab",
            "--address",
            "x",
            "--token-id",
            "a@pve!b",
            "--token-secret",
            "s",
            "--fingerprint",
            pvesim.fingerprint,
            "--vmid-range",
            "lots",
        )
    assert not Cluster.objects.exists()


def test_back_office_registration_tests_the_connection_first(
    operator_client, pvesim, pve_token
) -> None:
    form = {
        "name": "lab",
        "api_addresses": f"{pvesim.host}:{pvesim.port}",
        "token_id": pve_token.token_id,
        "token_secret": "wrong",
        "fingerprint": pvesim.fingerprint,
        "ca_bundle": "",
        "vmid_range_start": "100",
        "vmid_range_end": "999999",
    }
    refused = operator_client.post("/admin/clusters/cluster/add/", form)
    assert "connection test failed" in refused.content.decode()
    assert not Cluster.objects.exists()

    accepted = operator_client.post(
        "/admin/clusters/cluster/add/", {**form, "token_secret": pve_token.secret}
    )
    assert accepted.status_code == 302
    cluster = Cluster.objects.get(name="lab")
    assert cluster.token_secret == pve_token.secret
    assert cluster.nodes.count() == 3
    page = operator_client.get(f"/admin/clusters/cluster/{cluster.pk}/change/").content.decode()
    assert "pve1" in page
    assert pve_token.secret not in page


def test_back_office_changes_are_saved_only_if_the_cluster_still_answers(
    operator_client, pvesim, pve_token
) -> None:
    call_command(
        "cluster_add",
        "lab",
        "--address",
        f"{pvesim.host}:{pvesim.port}",
        "--token-id",
        pve_token.token_id,
        "--token-secret",
        pve_token.secret,
        "--fingerprint",
        pvesim.fingerprint,
    )
    cluster = Cluster.objects.get(name="lab")
    url = f"/admin/clusters/cluster/{cluster.pk}/change/"
    form = {
        "name": "lab",
        "api_addresses": f'["{pvesim.host}:{pvesim.port}"]',
        "fingerprint": pvesim.fingerprint,
        "ca_bundle": "",
        "vmid_range_start": "1000",
        "vmid_range_end": "1999",
        "nodes-TOTAL_FORMS": "0",
        "nodes-INITIAL_FORMS": "0",
    }
    garbled = operator_client.post(url, {**form, "fingerprint": "not-a-fingerprint"})
    assert garbled.status_code == 200
    assert "fingerprint" in garbled.content.decode()
    wrong = operator_client.post(url, {**form, "fingerprint": "AA:" * 31 + "AA"})
    assert "connection test failed" in wrong.content.decode()
    cluster.refresh_from_db()
    assert (cluster.fingerprint, cluster.vmid_range_start) == (pvesim.fingerprint, 100)

    lower_case = pvesim.fingerprint.lower().replace(":", "")
    saved = operator_client.post(url, {**form, "fingerprint": lower_case})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    cluster.refresh_from_db()
    assert (cluster.fingerprint, cluster.vmid_range_start) == (pvesim.fingerprint, 1000)


def test_actions_and_node_maintenance(operator_client, pvesim, pve_token) -> None:
    call_command(
        "cluster_add",
        "lab",
        "--address",
        f"{pvesim.host}:{pvesim.port}",
        "--token-id",
        pve_token.token_id,
        "--token-secret",
        pve_token.secret,
        "--fingerprint",
        pvesim.fingerprint,
    )
    cluster = Cluster.objects.get(name="lab")
    tested = operator_client.post(
        "/admin/clusters/cluster/",
        {"action": "test_connection", "_selected_action": [cluster.pk]},
        follow=True,
    )
    assert "Lab: PVE 9." in tested.content.decode()

    node = Node.objects.get(cluster=cluster, name="pve2")
    operator_client.post(
        "/admin/clusters/node/",
        {"action": "enter_maintenance", "_selected_action": [node.pk]},
        follow=True,
    )
    node.refresh_from_db()
    assert node.maintenance
    from apps.audit.models import AuditEvent

    assert AuditEvent.objects.filter(
        action="clusters.node_maintenance_entered", actor="op@pve", target=str(node)
    ).exists()
