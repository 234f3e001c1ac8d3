"""Metrics read at scrape time: cheap aggregate queries, so every scrape tells the truth of the
moment however many processes there are."""

import logging
from collections.abc import Iterator

import redis
from django.conf import settings
from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from apps.operations.models import Operation

logger = logging.getLogger(__name__)

# kombu's Redis transport keeps each priority level in its own list: the queue's name for the
# default level, then the name, this separator and the level (kombu.transport.redis).
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (3, 6, 9)


def celery_queue_depth(*, broker_url: str, queue: str) -> int:
    client = redis.Redis.from_url(broker_url, socket_timeout=2, socket_connect_timeout=2)
    keys = [queue, *(f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}" for step in KOMBU_PRIORITY_STEPS)]
    with client.pipeline(transaction=False) as pipeline:
        for key in keys:
            pipeline.llen(key)
        return sum(pipeline.execute())


class PortalCollector:
    def collect(self) -> Iterator[Metric]:
        yield self._operations()
        if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
            yield from self._queue_depth()

    def _operations(self) -> Metric:
        family = GaugeMetricFamily(
            "portal_operations",
            "Operations on record, by kind and state.",
            labels=["kind", "state"],
        )
        rows = Operation.objects.values("kind", "state").annotate(count=Count("pk")).order_by()
        for row in rows:
            family.add_metric([row["kind"], row["state"]], row["count"])
        return family

    def _queue_depth(self) -> Iterator[Metric]:
        queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
        try:
            depth = celery_queue_depth(broker_url=settings.CELERY_BROKER_URL, queue=queue)
        except redis.RedisError as error:
            # The scrape still answers; /readyz and the missing series tell the broker is down.
            logger.warning("metrics: cannot read the depth of Celery's queue: %s", error)
            return
        family = GaugeMetricFamily(
            "portal_celery_queue_depth",
            "Tasks waiting in Celery's queue on the Redis broker.",
            labels=["queue"],
        )
        family.add_metric([queue], depth)
        yield family
