"""Celery and the channel layer work through the Redis that production uses."""

import uuid

import pytest
from asgiref.sync import async_to_sync
from celery import Celery
from celery.contrib.testing.worker import start_worker
from django.utils.module_loading import import_string

from portal.settings.components.redis import celery_transport, channel_layers


def test_celery_task_round_trips_through_redis(redis_url: str, tmp_path) -> None:
    app = Celery("redis-smoke", set_as_current=False)
    app.conf.update(celery_transport(redis_url=redis_url, data_dir=tmp_path))
    # A queue of its own, so a worker of a running portal cannot take the task.
    queue = f"smoke-{uuid.uuid4().hex}"
    app.conf.task_default_queue = queue

    @app.task(name="smoke.concatenate")
    def concatenate(*parts: str) -> str:
        return "".join(parts)

    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue]):
        assert concatenate.delay("red", "is").get(timeout=20) == "redis"
    assert app.conf.broker_url == redis_url


def test_channel_layer_message_round_trips_through_redis(redis_url: str) -> None:
    config = channel_layers(redis_url)["default"]
    assert config["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    layer = import_string(config["BACKEND"])(**config["CONFIG"])
    channel = async_to_sync(layer.new_channel)()
    message = {"type": "console.closed", "reason": f"smoke-{uuid.uuid4().hex}"}

    async_to_sync(layer.send)(channel, message)

    assert async_to_sync(layer.receive)(channel) == message


@pytest.mark.django_db
def test_readyz_reports_unreachable_redis_as_not_ready(client, settings) -> None:
    dead_redis = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": dead_redis,
        }
    }
    settings.READINESS_CHECKS = ["apps.core.readiness.check_cache"]

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["cache"]["ok"] is False
    assert "detail" not in body["checks"]["cache"]  # reasons name internal hosts

    from apps.identity.services.users import user_create

    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    assert "Connection" in client.get("/readyz").json()["checks"]["cache"]["detail"]


@pytest.mark.django_db
def test_readyz_is_ready_with_the_configured_services(client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
