"""Where a new guest goes.

Placement filters nodes (online, not in maintenance, not vanished, enough free memory) and scores
them by free memory, then CPU load, then name, so the same inventory always gives the same node.
"""

from apps.clusters.models import Cluster, Node


class NoCapacity(Exception):
    """No node (or no VMID) is left for the guest; the message says why."""


def node_choose(*, cluster: Cluster, memory_mb: int, among: list[str] | None = None) -> Node:
    nodes = Node.objects.filter(
        cluster=cluster, online=True, maintenance=False, vanished_at__isnull=True
    )
    if among is not None:
        nodes = nodes.filter(name__in=among)
    needed = memory_mb * 1024**2
    fitting = [node for node in nodes if node.memory_free >= needed]
    if not fitting:
        raise NoCapacity(
            f"no online node of {cluster.name} outside maintenance has "
            f"{memory_mb} MiB of memory free"
        )
    return min(fitting, key=lambda node: (-node.memory_free, node.cpu_usage, node.name))
