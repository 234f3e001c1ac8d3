"""Dashboard, resource tree, global search and storage content, and the queries they cost."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.access.models import Pool
from apps.operations.models import Operation

pytestmark = pytest.mark.django_db


def count_queries(client, url: str) -> int:
    client.get(url)  # the compiled access model and the session, once
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_dashboard_shows_health_capacity_and_operations_that_need_a_look(backoffice) -> None:
    guest = backoffice.portal.add_guests(2)[0]
    failed = backoffice.power_operation(guest, state="failed")
    stalled = backoffice.power_operation(guest, state="running")
    Operation.objects.filter(pk=stalled.pk).update(
        next_check_at=timezone.now() - timedelta(hours=1)
    )
    fresh = backoffice.power_operation(guest, state="running")  # due now: not stalled
    page = backoffice.client.get("/operator/").content.decode()
    cluster = page[page.index('data-cluster="c1"') :]
    # pve3 is offline and not in maintenance: the cluster is degraded.
    assert 'data-health="degraded">A node outside maintenance is offline<' in cluster
    assert "offline" in cluster[cluster.index('data-node="pve3"') :]
    # CPU of the online nodes: 2 x 8 cores at 25 %; memory 8 of 32 GiB.
    assert "CPU: 25 % of 16 cores" in cluster
    assert "8.0\xa0GB / 32.0\xa0GB" in cluster
    # The shared ceph storage counts once, the local ones per node: 330 of 1,300 GiB.
    assert cluster.count('data-storage="ceph-vm"') == 1
    assert cluster.count('data-storage="local"') == 3
    assert "330.0\xa0GB / 1.3\xa0TB" in cluster
    failed_table = page[page.index('data-testid="failed-operations"') :]
    failed_table = failed_table[: failed_table.index("</table>")]
    assert str(failed.pk) in failed_table
    assert "PVE said no" in failed_table
    stalled_table = page[page.index('data-testid="stalled-operations"') :]
    stalled_table = stalled_table[: stalled_table.index("</table>")]
    assert str(stalled.pk) in stalled_table
    assert str(fresh.pk) not in stalled_table


def test_dashboard_shows_the_last_sync_error(backoffice) -> None:
    backoffice.portal.cluster.last_error = "connection refused"
    backoffice.portal.cluster.save()
    page = backoffice.client.get("/operator/").content.decode()
    assert 'data-health="error">The last sync failed<' in page
    assert "connection refused" in page


def test_server_view_counts_guests_per_node_and_opens_a_node(backoffice) -> None:
    backoffice.portal.add_guests(6)  # pve1, pve2, pve3, pve1, ...
    page = backoffice.client.get("/operator/tree/").content.decode()
    pve1 = page[page.index('data-node="pve1"') : page.index('data-node="pve2"')]
    # 2 of ACME's guests plus the other tenant's guest 200 and the template 9000.
    assert "4 guests" in pve1
    assert "/operator/clusters/c1/storages/local/" in pve1
    branch = backoffice.client.get(
        "/operator/tree/clusters/c1/nodes/pve1/", headers={"HX-Request": "true"}
    ).content.decode()
    assert re.findall(r'data-vmid="(\d+)"', branch) == ["200", "1000", "1003", "9000"]
    assert "<html" not in branch  # the fragment htmx puts into the branch
    assert "<html" in backoffice.client.get("/operator/tree/clusters/c1/nodes/pve1/").text
    assert backoffice.client.get("/operator/tree/clusters/c1/nodes/nope/").status_code == 404


def test_a_branch_is_paged(backoffice) -> None:
    backoffice.portal.add_guests(120)
    first = backoffice.client.get("/operator/tree/pools/acme/").content.decode()
    assert len(re.findall(r'data-vmid="', first)) == 50
    assert "50 of 120 shown" in first
    last = backoffice.client.get("/operator/tree/pools/acme/?page=3").content.decode()
    assert len(re.findall(r'data-vmid="', last)) == 20
    assert "shown: more" not in last


def test_pool_view_lists_pools_with_their_tenants_and_guests(backoffice) -> None:
    backoffice.portal.add_guests(3)
    Pool.objects.create(name="lab", comment="no tenant's")
    page = backoffice.client.get("/operator/tree/?view=pool").content.decode()
    acme = page[page.index('data-pool="acme"') :]
    assert "ACME" in acme[:400]
    assert "3 guests" in acme[:400]
    assert 'data-pool="lab"' in page
    branch = backoffice.client.get("/operator/tree/pools/acme/").content.decode()
    assert re.findall(r'data-vmid="(\d+)"', branch) == ["1000", "1001", "1002"]
    assert backoffice.client.get("/operator/tree/pools/nope/").status_code == 404


def test_folder_view_groups_each_clusters_resources_by_kind(backoffice) -> None:
    backoffice.portal.add_guests(5)
    page = backoffice.client.get("/operator/tree/?view=folder").content.decode()
    cluster = page[page.index('data-cluster="c1"') : page.index('data-folder="pools"')]
    # Of ACME's five, 1000 and 1004 are containers; the other tenant's 200 and the template
    # 9000 are virtual machines.
    assert 'data-field="guest-count">2<' in cluster[cluster.index('data-folder="lxc"') :]
    assert 'data-field="guest-count">5<' in cluster[cluster.index('data-folder="qemu"') :]
    nodes = cluster[cluster.index('data-folder="nodes"') : cluster.index('data-folder="storage"')]
    assert re.findall(r'data-node="(\w+)"', nodes) == ["pve1", "pve2", "pve3"]
    storages = cluster[cluster.index('data-folder="storage"') : cluster.index('data-folder="qemu"')]
    assert "local (pve1)" in storages
    assert 'data-pool="acme"' in page[page.index('data-folder="pools"') :]
    branch = backoffice.client.get(
        "/operator/tree/clusters/c1/types/qemu/", headers={"HX-Request": "true"}
    ).content.decode()
    assert re.findall(r'data-vmid="(\d+)"', branch) == ["200", "1001", "1002", "1003", "9000"]
    containers = backoffice.client.get("/operator/tree/clusters/c1/types/lxc/").content.decode()
    assert re.findall(r'data-vmid="(\d+)"', containers) == ["1000", "1004"]
    assert backoffice.client.get("/operator/tree/clusters/c1/types/nope/").status_code == 404
    assert backoffice.client.get("/operator/tree/clusters/c9/types/qemu/").status_code == 404


def found(client, query: str, kind: str) -> str:
    page = client.get("/operator/search/", {"q": query}).content.decode()
    marker = f'data-testid="found-{kind}"'
    if marker not in page:
        return ""
    section = page[page.index(marker) :]
    return section[: section.index("</table>" if kind == "guests" else "</ul>")]


@pytest.mark.parametrize(
    ("query", "vmids"),
    [
        ("1001", ["1001"]),  # by VMID
        ("web-1002", ["1002"]),  # by name
        ("WEB-100", ["1000", "1001", "1002"]),  # case does not matter
        ("prod", ["1001"]),  # by tag (guest 1001 is tagged prod;web)
        ("secret", ["200"]),  # every tenant's guests: the operator sees all
        ("debian12", ["9000"]),  # templates too
    ],
)
def test_search_finds_guests_by_vmid_name_and_tag(backoffice, query, vmids) -> None:
    backoffice.portal.add_guests(3)
    section = found(backoffice.client, query, "guests")
    assert re.findall(r'data-vmid="(\d+)"', section) == vmids


def test_search_finds_nodes_storages_pools_and_tenants(backoffice) -> None:
    client = backoffice.client
    assert "c1 / pve2" in found(client, "pve2", "nodes")
    assert "c1 / ceph-vm" in found(client, "ceph", "storages")
    assert found(client, "ceph", "storages").count("<li>") == 1  # once, not per node
    assert "/operator/tree/pools/other/" in found(client, "oth", "pools")
    assert "ACME" in found(client, "acme", "tenants")
    assert "ACME" in found(client, "AC", "tenants")


def test_search_limits_results_and_survives_odd_input(backoffice) -> None:
    backoffice.portal.add_guests(30)
    assert len(re.findall(r'data-vmid="', found(backoffice.client, "web", "guests"))) == 20
    for query in ("9" * 40, "%", "' OR 1=1 --", "x" * 500):
        response = backoffice.client.get("/operator/search/", {"q": query})
        assert response.status_code == 200
        assert 'data-testid="no-results"' in response.content.decode()
    assert "Search by VMID" in backoffice.client.get("/operator/search/").content.decode()


def test_storage_content_shows_isos_ct_templates_and_backups(backoffice) -> None:
    page = backoffice.client.get("/operator/clusters/c1/storages/local/").content.decode()
    section = page[page.index('data-testid="isos"') :]
    assert "local:iso/debian-12.iso" in section[: section.index("</ul>")]
    section = page[page.index('data-testid="ct-templates"') :]
    assert "local:vztmpl/alpine-3.19.tar.xz" in section[: section.index("</ul>")]
    section = page[page.index('data-testid="backups"') :]
    assert "vzdump-qemu-1000" in section
    assert "acme" in section
    assert page.count("<tr><td>pve") == 3  # the storage as each node has it
    shared = backoffice.client.get("/operator/clusters/c1/storages/ceph-vm/").content.decode()
    assert "None." in shared
    assert "vzdump" not in shared
    assert backoffice.client.get("/operator/clusters/c1/storages/nope/").status_code == 404
    assert backoffice.client.get("/operator/clusters/c2/storages/local/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/operator/",
        "/operator/search/?q=web",
        "/operator/search/?q=1005",
        "/operator/tree/",
        "/operator/tree/?view=folder",
    ],
)
def test_queries_do_not_grow_with_the_number_of_guests(backoffice, url) -> None:
    backoffice.portal.add_guests(10)
    for guest in backoffice.portal.acme.guests.all()[:5]:
        backoffice.power_operation(guest, state="failed")
    at_10 = count_queries(backoffice.client, url)
    backoffice.portal.add_guests(190, start=2000)
    for guest in backoffice.portal.acme.guests.filter(vmid__gte=2000)[:50]:
        backoffice.power_operation(guest, state="failed")
    assert count_queries(backoffice.client, url) == at_10


# Pinned: seven of them are the session, user and allauth bookkeeping every page pays (see
# docs/portal.md). The dashboard: clusters, nodes, storages, failed and stalled operations; the
# search: one query per kind, and a VMID looked up through its unique index first.
@pytest.mark.parametrize(
    ("url", "queries"),
    [("/operator/", 12), ("/operator/search/?q=web", 12), ("/operator/search/?q=1005", 13)],
)
def test_pinned_query_counts(backoffice, url, queries) -> None:
    backoffice.portal.add_guests(10)
    assert count_queries(backoffice.client, url) == queries
