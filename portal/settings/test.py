"""Test settings: the embedded default, or PostgreSQL and Redis when their URLs are set."""

import os
import tempfile
from pathlib import Path

from portal.settings.base import *  # noqa: F403
from portal.settings.base import DATABASES, REDIS_URL
from portal.settings.components.redis import celery_transport
from portal.settings.components.secrets import development_fernet_key

SECRET_KEY = "test-key-not-secret"  # noqa: S105
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PORTAL_SECRETS_KEYS = [development_fernet_key(SECRET_KEY)]
if not REDIS_URL:
    # One process runs the tests; keep the cache out of the developer's var/ folder.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Tests never share a queue with a running portal: their own queue, and without Redis, their own
# broker folder. A worker a test starts as a process is given the test's (tests/operations/
# test_soak.py).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("PORTAL_TEST_QUEUE") or f"portal-tests-{os.getpid()}"
if not REDIS_URL:
    _celery_transport = celery_transport(
        redis_url="",
        data_dir=Path(
            os.environ.get("PORTAL_TEST_BROKER_DIR")
            or tempfile.mkdtemp(prefix="portal-test-broker-")
        ),
    )
    CELERY_BROKER_URL = _celery_transport["broker_url"]
    CELERY_RESULT_BACKEND = _celery_transport["result_backend"]
    CELERY_BROKER_TRANSPORT_OPTIONS = _celery_transport["broker_transport_options"]
# A running PVE task is looked at again this often.
OPERATIONS_POLL_SECONDS = 0.05
# A killed worker's operations are picked up again within seconds, not minutes.
OPERATIONS_STALLED_GRACE_SECONDS = 5.0
OPERATIONS_CLAIM_LEASE_SECONDS = 10.0

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the shared in-memory database: worker threads in tests then lock and wait
    # exactly as the embedded setup's processes do.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.mkdtemp(prefix="portal-test-db-")) / "test.sqlite3")
    }
