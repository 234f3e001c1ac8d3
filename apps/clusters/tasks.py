"""Periodic inventory sync of every cluster."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="clusters.sync_all_inventories")
def sync_all_inventories() -> list[int]:
    from apps.clusters.models import Cluster

    cluster_ids = list(Cluster.objects.values_list("pk", flat=True))
    for cluster_id in cluster_ids:
        sync_inventory.delay(cluster_id)
    return cluster_ids


@shared_task(name="clusters.sync_inventory")
def sync_inventory(cluster_id: int) -> dict[str, list[str]]:
    from apps.clusters.models import Cluster
    from apps.clusters.services import inventory_sync
    from apps.proxmox.errors import ProxmoxError

    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:  # removed since sync_all queued it
        return {"error": ["cluster removed"]}
    try:
        report = inventory_sync(cluster=cluster)
    except ProxmoxError as error:
        # Recorded on the cluster (last_error); the next beat tries again.
        logger.warning("inventory sync of %s failed: %s", cluster.name, error.message)
        return {"error": [error.message]}
    return report.__dict__
