"""What a scrape reports: the instruments of this process, or of every process of the host in
multiprocess mode, and (on the web) the collectors that read the database and the broker."""

import os
from collections.abc import Iterable

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess
from prometheus_client.metrics_core import Metric

from apps.monitoring.collectors import PortalCollector


class _ThisProcess:
    """This process's instruments (and the client's process and platform metrics)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def instruments_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    # uvicorn --workers and Celery's prefork pool run several processes: with
    # PROMETHEUS_MULTIPROC_DIR set, each writes its instruments there and any one reads all.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    return registry


def web_registry() -> CollectorRegistry:
    registry = instruments_registry()
    registry.register(PortalCollector())
    return registry
