"""The resource tree as PVE's web UI draws it: the server view (cluster → node → guests and
storages) and the pool view (pool → guests; a tenant's pool is named by its slug). Branches
carry counts; a node's or a pool's guests are fetched a page at a time when the branch is
opened, so the tree costs the same queries at 10 and 10,000 guests."""

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.http import Http404

from apps.access.models import Pool, PoolGuest
from apps.clusters.models import Cluster, Node, Storage
from apps.guests.models import Guest
from apps.tenancy.models import Tenant

BRANCH_PAGE_SIZE = 50


@dataclass
class NodeBranch:
    node: Node
    guest_count: int = 0
    storages: list[Storage] = field(default_factory=list)


@dataclass
class ClusterBranch:
    cluster: Cluster
    nodes: list[NodeBranch] = field(default_factory=list)


def _present_guests() -> QuerySet[Guest]:
    return Guest.objects.filter(vanished_at__isnull=True)


def server_view() -> list[ClusterBranch]:
    """Clusters, their present nodes with how many guests each runs, and each node's storages."""
    counts = Counter(
        {
            (row["cluster_id"], row["node"]): row["count"]
            for row in _present_guests()
            .order_by()
            .values("cluster_id", "node")
            .annotate(count=Count("pk"))
        }
    )
    branches: dict[int, ClusterBranch] = {c.pk: ClusterBranch(c) for c in Cluster.objects.all()}
    nodes: dict[int, NodeBranch] = {}
    for node in Node.objects.filter(vanished_at__isnull=True).order_by("cluster", "name"):
        nodes[node.pk] = NodeBranch(node, guest_count=counts[(node.cluster_id, node.name)])
        branches[node.cluster_id].nodes.append(nodes[node.pk])
    for storage in Storage.objects.filter(vanished_at__isnull=True).order_by("storage"):
        if storage.node_id in nodes:
            nodes[storage.node_id].storages.append(storage)
    return list(branches.values())


@dataclass(frozen=True)
class PoolBranch:
    pool: Pool
    guest_count: int
    tenant: Tenant | None  # the tenant owning the pool: the one whose slug names it


def pool_view() -> list[PoolBranch]:
    """Every PVE pool with how many guests it holds and the tenant it belongs to, if any."""
    tenants = {tenant.slug: tenant for tenant in Tenant.objects.all()}
    pools = Pool.objects.annotate(guest_count=Count("guests")).order_by("name")
    return [PoolBranch(pool, pool.guest_count, tenants.get(pool.name)) for pool in pools]


def node_guests(*, cluster_name: str, node_name: str) -> QuerySet[Guest]:
    node = (
        Node.objects.filter(cluster__name=cluster_name, name=node_name)
        .select_related("cluster")
        .first()
    )
    if node is None:
        raise Http404("no such node")
    return (
        _present_guests()
        .filter(cluster=node.cluster, node=node.name)
        .select_related("cluster", "tenant")
    )


def pool_guests(*, name: str) -> QuerySet[Guest]:
    """The guests in the pool, by the portal's pool membership (which follows the tenant)."""
    pool = Pool.objects.filter(name=name).first()
    if pool is None:
        raise Http404("no such pool")
    members = PoolGuest.objects.filter(pool=pool).values("vmid")
    return _present_guests().filter(vmid__in=members).select_related("cluster", "tenant")
