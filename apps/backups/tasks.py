"""Beat's backup work: due schedules every minute, the storage content sync of every cluster."""

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="backups.run_due_schedules")
def run_due_schedules() -> list[int]:
    from django.utils import timezone

    from apps.backups.services import schedules_due

    schedule_ids = schedules_due(now=timezone.now())
    for schedule_id in schedule_ids:
        run_schedule.delay(schedule_id)
    return schedule_ids


@shared_task(name="backups.run_schedule")
def run_schedule(schedule_id: int) -> list[str]:
    from django.utils import timezone

    from apps.backups.services import schedule_run

    return [str(op.pk) for op in schedule_run(schedule_id=schedule_id, now=timezone.now())]


@shared_task(name="backups.sync_all")
def sync_all() -> list[int]:
    from apps.clusters.models import Cluster

    cluster_ids = list(Cluster.objects.values_list("pk", flat=True))
    for cluster_id in cluster_ids:
        sync_cluster_backups.delay(cluster_id)
    return cluster_ids


@shared_task(name="backups.sync_cluster")
def sync_cluster_backups(cluster_id: int) -> int | str:
    from apps.backups.services import backups_sync
    from apps.clusters.models import Cluster
    from apps.proxmox.errors import ProxmoxError

    cluster = Cluster.objects.filter(pk=cluster_id).first()
    if cluster is None:  # removed since sync_all queued it
        return "cluster removed"
    try:
        return backups_sync(cluster=cluster)
    except ProxmoxError as error:
        logger.warning("backup sync of %s failed: %s", cluster.name, error.message)
        return error.message
