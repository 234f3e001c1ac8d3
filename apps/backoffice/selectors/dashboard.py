"""The operators' dashboard: each cluster's health and capacity, and the operations that need a
look. A fixed number of queries, however many nodes, storages and guests there are."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone

from apps.access.engine import Principal
from apps.clusters.models import Cluster, Node, Storage
from apps.clusters.selectors import ClusterHealth, cluster_list
from apps.operations.models import Operation
from apps.operations.tasks import stalled_grace

FAILED_SHOWN = 10
STALLED_SHOWN = 20


@dataclass(frozen=True)
class Capacity:
    used: float
    total: float

    @property
    def percent(self) -> int:
        return min(100, round(self.used * 100 / self.total)) if self.total else 0


@dataclass
class ClusterOverview:
    cluster: Cluster
    nodes: list[Node] = field(default_factory=list)
    # Shared storages once (PVE lists them under every node), local ones per node.
    storages: list[Storage] = field(default_factory=list)

    @property
    def health_label(self) -> str:
        return str(ClusterHealth(self.cluster.health).label)

    @property
    def cpu(self) -> Capacity:
        online = [node for node in self.nodes if node.online]
        used = sum(node.cpu_usage * node.cpu_count for node in online)
        return Capacity(used, sum(node.cpu_count for node in online))

    @property
    def memory(self) -> Capacity:
        online = [node for node in self.nodes if node.online]
        return Capacity(
            sum(node.memory_used for node in online), sum(node.memory_total for node in online)
        )

    @property
    def storage(self) -> Capacity:
        available = [storage for storage in self.storages if storage.available]
        return Capacity(sum(s.used for s in available), sum(s.total for s in available))


def _once_per_shared(storages: QuerySet[Storage]) -> list[Storage]:
    seen: set[tuple[int, str]] = set()
    rows = []
    for storage in storages:
        if storage.shared:
            if (storage.cluster_id, storage.storage) in seen:
                continue
            seen.add((storage.cluster_id, storage.storage))
        rows.append(storage)
    return rows


def cluster_overviews(*, actor: Principal) -> list[ClusterOverview]:
    """Every cluster with its health (`health`, `last_synced_at`, `last_error`), its present
    nodes and storages, and their CPU, memory and storage use."""
    overviews = {cluster.pk: ClusterOverview(cluster) for cluster in cluster_list(actor=actor)}
    for node in Node.objects.filter(vanished_at__isnull=True).order_by("cluster", "name"):
        overviews[node.cluster_id].nodes.append(node)
    storages = (
        Storage.objects.filter(vanished_at__isnull=True)
        .select_related("node")
        .order_by("cluster", "storage", "node__name")
    )
    by_cluster: dict[int, list[Storage]] = defaultdict(list)
    for storage in _once_per_shared(storages):
        by_cluster[storage.cluster_id].append(storage)
    for cluster_id, rows in by_cluster.items():
        overviews[cluster_id].storages = rows
    return list(overviews.values())


def failed_operations() -> QuerySet[Operation]:
    """The latest operations that ended failed."""
    return (
        Operation.objects.filter(state=Operation.State.FAILED)
        .select_related("guest", "tenant", "cluster")
        .order_by("-created_at")[:FAILED_SHOWN]
    )


def stalled_operations() -> QuerySet[Operation]:
    """Unfinished operations whose next look is overdue by more than the sweep's grace: their
    worker is gone or their message was lost (the sweep enqueues them again)."""
    overdue = timezone.now() - stalled_grace()
    return (
        Operation.objects.exclude(state__in=Operation.TERMINAL_STATES)
        .filter(next_check_at__lt=overdue)
        .select_related("guest", "tenant", "cluster")
        .order_by("next_check_at")[:STALLED_SHOWN]
    )
