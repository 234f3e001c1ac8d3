"""Cache, Celery broker and channel layer: Redis when REDIS_URL is set, server-less otherwise."""

from pathlib import Path


def caches(*, redis_url: str, data_dir: Path) -> dict[str, dict]:
    if redis_url:
        return {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": redis_url,
            }
        }
    # Shared by the web and the worker (the access engine's version counter lives here).
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(data_dir / "cache"),
        }
    }


def channel_layers(redis_url: str) -> dict[str, dict]:
    if redis_url:
        return {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [redis_url]},
            }
        }
    # Only valid for one web process: the embedded default runs exactly one.
    return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def celery_transport(*, redis_url: str, data_dir: Path) -> dict[str, object]:
    """Broker and result backend; without Redis, kombu's filesystem transport needs no server."""
    if redis_url:
        return {
            "broker_url": redis_url,
            "result_backend": redis_url,
            "broker_transport_options": {},
        }
    queue_dir = data_dir / "broker" / "queue"
    processed_dir = data_dir / "broker" / "processed"
    results_dir = data_dir / "broker" / "results"
    control_dir = data_dir / "broker" / "control"
    for folder in (queue_dir, processed_dir, results_dir, control_dir):
        folder.mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "result_backend": f"file://{results_dir}",
        "broker_transport_options": {
            # Producers and consumers share one folder: that folder is the queue.
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(processed_dir),
            "control_folder": str(control_dir),
            "store_processed": False,
            # Seconds between looks at the queue folder when it is empty.
            "polling_interval": 0.2,
        },
    }
