"""The embedded default boots and its moving parts work with no server installed."""

import json
import re
import urllib.request
from email.message import Message
from pathlib import Path

import pytest
from celery import Celery
from celery.contrib.testing.worker import start_worker

from portal.settings.components.redis import celery_transport

pytestmark = pytest.mark.embedded


def fetch(url: str) -> tuple[int, Message, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read().decode()


def test_asgi_app_serves_probes_login_page_and_vendored_assets(asgi_server: str) -> None:
    status, _headers, body = fetch(f"{asgi_server}/healthz")
    assert (status, json.loads(body)) == (200, {"status": "alive"})

    status, _headers, body = fetch(f"{asgi_server}/readyz")
    readiness = json.loads(body)
    assert status == 200
    assert readiness["status"] == "ready"
    assert set(readiness["checks"]) == {"database", "cache", "broker", "clusters"}

    status, headers, body = fetch(f"{asgi_server}/login/")
    assert status == 200
    assert re.search(r'<input[^>]+name="username"', body)
    assert re.search(r'<option value="pve"[^>]* selected>', body)
    assert 'name="csrfmiddlewaretoken"' in body
    assert headers["X-Frame-Options"] == "DENY"

    status, headers, body = fetch(f"{asgi_server}/static/vendor/novnc/core/rfb.js")
    assert status == 200
    assert "export default class RFB" in body
    assert headers["Content-Type"].startswith("text/javascript")


def test_celery_task_round_trips_through_the_filesystem_broker(tmp_path: Path) -> None:
    app = Celery("embedded-smoke", set_as_current=False)
    transport = celery_transport(redis_url="", data_dir=tmp_path)
    app.conf.update(transport, task_serializer="json", accept_content=["json"])

    @app.task(name="smoke.multiply")
    def multiply(left: int, right: int) -> int:
        return left * right

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert multiply.delay(6, 7).get(timeout=20) == 42
    assert app.conf.broker_url == "filesystem://"
