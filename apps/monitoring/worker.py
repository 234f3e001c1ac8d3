"""Celery workers make most of the portal's PVE calls: they serve their own instruments on
PORTAL_WORKER_METRICS_LISTEN (host:port), for Prometheus to scrape on the internal network."""

from threading import Thread
from wsgiref.simple_server import WSGIServer

from django.conf import settings
from prometheus_client import start_http_server

from apps.monitoring.registries import instruments_registry


def serve_worker_metrics() -> tuple[WSGIServer, Thread] | None:
    if not settings.WORKER_METRICS_LISTEN:
        return None
    host, _, port = settings.WORKER_METRICS_LISTEN.rpartition(":")
    return start_http_server(int(port), addr=host or "0.0.0.0", registry=instruments_registry())  # noqa: S104
