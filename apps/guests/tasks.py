"""Periodic guest inventory sync of every cluster."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="guests.sync_all")
def sync_all() -> list[int]:
    from apps.clusters.models import Cluster

    cluster_ids = list(Cluster.objects.values_list("pk", flat=True))
    for cluster_id in cluster_ids:
        sync_cluster_guests.delay(cluster_id)
    return cluster_ids


@shared_task(name="guests.sync_cluster")
def sync_cluster_guests(cluster_id: int) -> dict[str, list[int]] | str:
    from apps.clusters.models import Cluster
    from apps.guests.services import guests_sync, images_sync
    from apps.proxmox.errors import ProxmoxError

    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:  # removed since sync_all queued it
        return "cluster removed"
    try:
        images_sync(cluster=cluster)
        return guests_sync(cluster=cluster).__dict__
    except ProxmoxError as error:
        logger.warning("guest sync of %s failed: %s", cluster.name, error.message)
        return error.message
