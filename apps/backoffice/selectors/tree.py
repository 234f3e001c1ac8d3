"""The resource tree as PVE's web UI draws it: the server view (cluster → node → guests and
storages), the folder view (cluster → a folder per kind: containers, nodes, storages, virtual
machines; pools beside the clusters, as they span them) and the pool view (pool → guests; a
tenant's pool is named by its slug). Branches
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


@dataclass
class ClusterFolders:
    cluster: Cluster
    guest_counts: Counter[str] = field(default_factory=Counter)  # by Guest.Type
    nodes: list[Node] = field(default_factory=list)
    storages: list[Storage] = field(default_factory=list)

    @property
    def container_count(self) -> int:
        return self.guest_counts[Guest.Type.LXC]

    @property
    def vm_count(self) -> int:
        return self.guest_counts[Guest.Type.QEMU]


def folder_view() -> list[ClusterFolders]:
    """Each cluster's guests counted by type (their folders open a page at a time), its present
    nodes and its storages, each storage once per node as PVE lists them."""
    folders: dict[int, ClusterFolders] = {c.pk: ClusterFolders(c) for c in Cluster.objects.all()}
    for row in _present_guests().order_by().values("cluster_id", "type").annotate(n=Count("pk")):
        folders[row["cluster_id"]].guest_counts[row["type"]] = row["n"]
    for node in Node.objects.filter(vanished_at__isnull=True).order_by("name"):
        folders[node.cluster_id].nodes.append(node)
    storages = (
        Storage.objects.filter(vanished_at__isnull=True, node__vanished_at__isnull=True)
        .select_related("node")
        .order_by("storage", "node__name")
    )
    for storage in storages:
        folders[storage.node.cluster_id].storages.append(storage)
    return list(folders.values())


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


def type_guests(*, cluster_name: str, guest_type: str) -> QuerySet[Guest]:
    """A cluster's containers or virtual machines (templates among them, as PVE shows them)."""
    cluster = Cluster.objects.filter(name=cluster_name).first()
    if cluster is None or guest_type not in Guest.Type.values:
        raise Http404("no such folder")
    return (
        _present_guests()
        .filter(cluster=cluster, type=guest_type)
        .select_related("cluster", "tenant")
    )


def pool_guests(*, name: str) -> QuerySet[Guest]:
    """The guests in the pool, by the portal's pool membership (which follows the tenant)."""
    pool = Pool.objects.filter(name=name).first()
    if pool is None:
        raise Http404("no such pool")
    members = PoolGuest.objects.filter(pool=pool).values("vmid")
    return _present_guests().filter(vmid__in=members).select_related("cluster", "tenant")
