"""The Celery application: workers and beat read their configuration from Django settings."""

import os

from celery import Celery
from celery.signals import setup_logging, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**_kwargs: object) -> None:
    """Let workers log through Django's LOGGING instead of Celery's own handlers."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@worker_init.connect
def start_worker_metrics(**_kwargs: object):
    """Workers serve their own metrics (docs/operations.md, Monitoring)."""
    from apps.monitoring.worker import serve_worker_metrics

    return serve_worker_metrics()
