"""Settings shared by every environment, read once from the environment (see .env.example)."""

from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django_guid.integrations import CeleryIntegration

from portal.settings.components import database, redis
from portal.settings.components.logging import logging_config

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()
if env.bool("PORTAL_READ_DOT_ENV", default=True) and (BASE_DIR / ".env").exists():
    env.read_env(BASE_DIR / ".env")

# GENERAL
# ------------------------------------------------------------------------------
# Runtime files of the embedded setup: SQLite database, broker folders, pvesim state.
DATA_DIR = Path(env("PORTAL_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

# https://docs.djangoproject.com/en/5.2/ref/settings/#secret-key
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
# https://docs.djangoproject.com/en/5.2/ref/settings/#debug
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# https://docs.djangoproject.com/en/5.2/ref/settings/#allowed-hosts
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
# https://docs.djangoproject.com/en/5.2/ref/settings/#csrf-trusted-origins
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

# Fernet keys for secrets stored in the database (PVE tokens, bind passwords, TOTP seeds):
# the first encrypts, every one decrypts, so a new key goes first and old ones stay until re-keyed.
PORTAL_SECRETS_KEYS = env.list("PORTAL_SECRETS_KEYS", default=[])

TIME_ZONE = env("PORTAL_TIME_ZONE", default="UTC")
LANGUAGE_CODE = "en"
# The languages the portal ships (locale/); the language selector offers these.
LANGUAGES = [("en", "English"), ("de", "Deutsch")]
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# APPS
# ------------------------------------------------------------------------------
DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
]
THIRD_PARTY_APPS = [
    "channels",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.usersessions",
    # OpenID Connect realms: each enabled one is an app of this provider (apps.identity.adapters).
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "axes",
    "django_guid",
]
LOCAL_APPS = [
    "apps.core",
    "apps.audit",
    "apps.tenancy",
    "apps.identity",
    "apps.access",
    "apps.clusters",
    "apps.guests",
    "apps.operations",
    "apps.backups",
    "apps.consoles",
    "apps.billing",
    "apps.web",
    "apps.tenantadmin",
    "apps.backoffice",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "apps.identity.middleware.TotpEnforcementMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
ASGI_APPLICATION = "portal.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASE, CACHE, BROKER, CHANNEL LAYER
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
DATABASES = database.databases(
    env("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'portal.sqlite3'}")
)
REDIS_URL = env("REDIS_URL", default="")
# https://docs.djangoproject.com/en/5.2/ref/settings/#caches
CACHES = redis.caches(redis_url=REDIS_URL, data_dir=DATA_DIR)
# https://channels.readthedocs.io/en/stable/topics/channel_layers.html
CHANNEL_LAYERS = redis.channel_layers(REDIS_URL)

# CELERY (https://docs.celeryq.dev/en/stable/userguide/configuration.html)
# ------------------------------------------------------------------------------
_celery_transport = redis.celery_transport(redis_url=REDIS_URL, data_dir=DATA_DIR)
CELERY_BROKER_URL = _celery_transport["broker_url"]
CELERY_RESULT_BACKEND = _celery_transport["result_backend"]
CELERY_BROKER_TRANSPORT_OPTIONS = _celery_transport["broker_transport_options"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=600)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=660)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "sync-due-realms": {"task": "identity.sync_due_realms", "schedule": 300.0},
    "sync-cluster-inventories": {"task": "clusters.sync_all_inventories", "schedule": 60.0},
    "sync-guests": {"task": "guests.sync_all", "schedule": 60.0},
    "resume-stalled-operations": {"task": "operations.resume_stalled", "schedule": 60.0},
    "billing-terminate-due": {"task": "billing.terminate_due", "schedule": 300.0},
    # Soon after each hour ends: PVE's hourly graphs (network traffic) keep about 70 minutes.
    "billing-usage-close": {"task": "billing.usage_close", "schedule": 300.0},
    "billing-deliver-overdue": {"task": "billing.deliver_overdue", "schedule": 300.0},
}

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses locked-out accounts and addresses before any realm is asked.
    "axes.backends.AxesStandaloneBackend",
    "apps.identity.backends.RealmBackend",
]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "web:home"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_ALLOW_REGISTRATION = env.bool("PORTAL_ALLOW_SIGNUP", default=False)
ACCOUNT_ADAPTER = "apps.identity.adapters.AccountAdapter"
ACCOUNT_FORMS = {"reset_password": "apps.identity.forms.PasswordResetForm"}
# OpenID Connect realms come from Realm rows, not SocialApp rows; their logins end in the
# portal's own login flow, so allauth's sign-up form and e-mail matching never run.
SOCIALACCOUNT_ADAPTER = "apps.identity.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = False
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False
SOCIALACCOUNT_STORE_TOKENS = False
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
# Failed logins are counted per account and, separately, per client address.
AXES_FAILURE_LIMIT = env.int("PORTAL_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = env.float("PORTAL_LOGIN_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.identity.views.login_locked_out"
AXES_VERBOSE = False
USERSESSIONS_TRACK_ACTIVITY = True
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# TEMPLATES AND STATIC FILES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("DJANGO_STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# https://django-csp.readthedocs.io/en/latest/configuration.html
# Scripts only from the portal's own files (no inline scripts, no eval). Styles allow inline:
# templates set widths and tag colours in style attributes, and htmx, Swagger UI and Redoc add
# <style> elements. WebSockets (consoles, live progress) are same-origin: 'self' covers them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        # Redoc parses the schema in a worker it makes from a blob.
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# REST FRAMEWORK
# ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.access.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Proxmox VE self-service portal API",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Operations and their steps both have a `state`; each gets its own enum.
    "ENUM_NAME_OVERRIDES": {
        "OperationStateEnum": "apps.operations.models.Operation.State",
        "StepStateEnum": "apps.operations.models.Step.State",
        "BackupModeEnum": "apps.backups.models.BackupSchedule.Mode",
    },
}

# OBSERVABILITY
# ------------------------------------------------------------------------------
# https://django-guid.readthedocs.io/en/latest/settings.html
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "VALIDATE_GUID": False,
    "RETURN_HEADER": True,
    # Tasks log the id of the request that enqueued them.
    "INTEGRATIONS": [CeleryIntegration(use_django_logging=True, log_parent=True)],
}
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = logging_config(level=LOG_LEVEL, json_format=env.bool("LOG_JSON", default=False))

# Seconds to wait for a PVE API answer; a change whose answer does not come in time is looked
# up on PVE before it is sent again.
PROXMOX_TIMEOUT_SECONDS = env.float("PORTAL_PROXMOX_TIMEOUT_SECONDS", default=15.0)
# Seconds between looks at a running PVE task.
OPERATIONS_POLL_SECONDS = env.float("PORTAL_OPERATIONS_POLL_SECONDS", default=1.0)
# An operation this long past its next look lost its message (or its worker died): beat's sweep
# enqueues it again.
OPERATIONS_STALLED_GRACE_SECONDS = env.float(
    "PORTAL_OPERATIONS_STALLED_GRACE_SECONDS", default=120.0
)
# How long a worker holds an operation while it runs one step; a worker killed meanwhile keeps
# others off it that long.
OPERATIONS_CLAIM_LEASE_SECONDS = env.float("PORTAL_OPERATIONS_CLAIM_LEASE_SECONDS", default=300.0)

# Consoles: seconds a console ticket (minted by the console page) may wait to be used; a
# console ends after this many seconds without input from the browser, and after this many in
# all; open consoles re-check their privilege, session and guest at least this often.
CONSOLE_TICKET_SECONDS = env.float("PORTAL_CONSOLE_TICKET_SECONDS", default=30.0)
CONSOLE_IDLE_SECONDS = env.float("PORTAL_CONSOLE_IDLE_SECONDS", default=1800.0)
CONSOLE_MAX_SECONDS = env.float("PORTAL_CONSOLE_MAX_SECONDS", default=28800.0)
CONSOLE_RECHECK_SECONDS = env.float("PORTAL_CONSOLE_RECHECK_SECONDS", default=30.0)

# Billing webhooks: how far a signature's timestamp may be from now; how long a terminated
# service's guest is kept (stopped) before it is deleted, so a late payment can still save it.
BILLING_SIGNATURE_TOLERANCE_SECONDS = env.int(
    "PORTAL_BILLING_SIGNATURE_TOLERANCE_SECONDS", default=300
)
BILLING_TERMINATION_GRACE_HOURS = env.float("PORTAL_BILLING_TERMINATION_GRACE_HOURS", default=72.0)
# Outbound events: an endpoint is given this many seconds to answer; a failed delivery is tried
# again after the base back-off, doubling each time up to the maximum, this many attempts in
# all; a pending delivery this overdue (its message lost) is sent again by beat.
BILLING_DELIVERY_TIMEOUT_SECONDS = env.float(
    "PORTAL_BILLING_DELIVERY_TIMEOUT_SECONDS", default=10.0
)
BILLING_DELIVERY_BACKOFF_SECONDS = env.float(
    "PORTAL_BILLING_DELIVERY_BACKOFF_SECONDS", default=30.0
)
BILLING_DELIVERY_BACKOFF_MAX_SECONDS = env.float(
    "PORTAL_BILLING_DELIVERY_BACKOFF_MAX_SECONDS", default=21600.0
)
BILLING_DELIVERY_MAX_ATTEMPTS = env.int("PORTAL_BILLING_DELIVERY_MAX_ATTEMPTS", default=15)
BILLING_DELIVERY_OVERDUE_SECONDS = env.float(
    "PORTAL_BILLING_DELIVERY_OVERDUE_SECONDS", default=600.0
)
# What a terminated service's backups become: `keep` (PVE's default: they outlive the guest)
# or `delete` (its unprotected backups go with it).
BILLING_TERMINATION_BACKUPS = env.str("PORTAL_BILLING_TERMINATION_BACKUPS", default="keep")

# Backups: a vzdump that fails is tried again this many times, this many seconds apart, before
# the backup fails; per kind of failure: PVE has the guest locked (a snapshot, another backup),
# the backup storage is full (room may be freed meanwhile), any other task error.
BACKUP_LOCKED_RETRIES = env.int("PORTAL_BACKUP_LOCKED_RETRIES", default=3)
BACKUP_LOCKED_RETRY_SECONDS = env.float("PORTAL_BACKUP_LOCKED_RETRY_SECONDS", default=60.0)
BACKUP_STORAGE_FULL_RETRIES = env.int("PORTAL_BACKUP_STORAGE_FULL_RETRIES", default=1)
BACKUP_STORAGE_FULL_RETRY_SECONDS = env.float(
    "PORTAL_BACKUP_STORAGE_FULL_RETRY_SECONDS", default=600.0
)
BACKUP_TASK_ERROR_RETRIES = env.int("PORTAL_BACKUP_TASK_ERROR_RETRIES", default=2)
BACKUP_TASK_ERROR_RETRY_SECONDS = env.float("PORTAL_BACKUP_TASK_ERROR_RETRY_SECONDS", default=120.0)

# /metrics answers scrapers from these networks, and any that sends
# `Authorization: Bearer <PORTAL_METRICS_TOKEN>` (docs/operations.md).
METRICS_ALLOWED_NETWORKS = env.list(
    "PORTAL_METRICS_ALLOWED_NETWORKS", default=["127.0.0.1/32", "::1/128"]
)
METRICS_TOKEN = env("PORTAL_METRICS_TOKEN", default="")
# host:port where each Celery worker serves its own metrics (PVE calls); empty: not served.
WORKER_METRICS_LISTEN = env("PORTAL_WORKER_METRICS_LISTEN", default="")

# Checks behind /readyz; apps add their own (clusters add one per registered cluster).
READINESS_CHECKS = [
    "apps.core.readiness.check_database",
    "apps.core.readiness.check_cache",
    "apps.core.readiness.check_broker",
    "apps.clusters.readiness.check_clusters",
]

# EMAIL
# ------------------------------------------------------------------------------
# https://docs.djangoproject.com/en/5.2/ref/settings/#email-backend
EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="portal@localhost")

# EMBEDDED DEFAULT (make run)
# ------------------------------------------------------------------------------
EMBEDDED_HOST = env("PORTAL_HOST", default="127.0.0.1")
EMBEDDED_PORT = env.int("PORTAL_PORT", default=8000)
# The bundled Proxmox VE API simulator that `make run` starts.
EMBEDDED_PVESIM_PORT = env.int("PORTAL_PVESIM_PORT", default=8006)
