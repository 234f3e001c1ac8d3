"""Test settings: the embedded default, or PostgreSQL and Redis when their URLs are set."""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import REDIS_URL
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
