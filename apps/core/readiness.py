"""Readiness checks behind /readyz: each returns None when fine, or raises with the reason."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils.module_loading import import_string

from portal.celery import app as celery_app

BROKER_TIMEOUT_SECONDS = 2.0

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    milliseconds: float


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache() -> None:
    probe = f"readyz-{time.monotonic_ns()}"
    cache.set(probe, "1", timeout=5)
    if cache.get(probe) != "1":
        raise RuntimeError("cache did not return the value just written")
    cache.delete(probe)


def check_broker() -> None:
    with celery_app.connection_for_write() as broker:
        broker.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def registered_checks() -> list[tuple[str, Callable[[], None]]]:
    """Every check named in settings.READINESS_CHECKS, named after its function."""
    return [
        (path.rsplit(".", 1)[1].removeprefix("check_"), import_string(path))
        for path in settings.READINESS_CHECKS
    ]


def run_checks() -> list[CheckResult]:
    results = []
    for name, check in registered_checks():
        started = time.perf_counter()
        try:
            check()
        except Exception as error:  # any failure means "not ready", with its reason
            ok, detail = False, f"{type(error).__name__}: {error}"
            logger.warning("readiness check %s failed: %s", name, detail)
        else:
            ok, detail = True, "ok"
        elapsed = (time.perf_counter() - started) * 1000
        results.append(CheckResult(name=name, ok=ok, detail=detail, milliseconds=round(elapsed, 1)))
    return results
