"""Production: refuses to start without a secret key, allowed hosts and a real database."""

from django.core.exceptions import ImproperlyConfigured

from portal.settings.base import *  # noqa: F403
from portal.settings.base import DATABASES, PORTAL_SECRETS_KEYS, SECRET_KEY, env
from portal.settings.components.database import is_sqlite
from portal.settings.components.logging import logging_config

if not SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set to at least 50 random characters.")
if not env("DJANGO_ALLOWED_HOSTS", default=""):
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the host names the portal serves.")
if is_sqlite(DATABASES):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL in production.")
if not PORTAL_SECRETS_KEYS:
    raise ImproperlyConfigured(
        "PORTAL_SECRETS_KEYS must hold at least one Fernet key, made with: python -c "
        "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    )
if not env("REDIS_URL", default=""):
    raise ImproperlyConfigured("REDIS_URL must be set in production (broker, cache, channels).")

DEBUG = False

# The portal runs behind a TLS-terminating reverse proxy.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Probes from the load balancer and orchestrator, and Prometheus' scrapes, speak plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOGGING = logging_config(
    level=env("LOG_LEVEL", default="INFO"), json_format=env.bool("LOG_JSON", default=True)
)
