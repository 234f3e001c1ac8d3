"""The soak's world: its own PostgreSQL database and Redis server, pvesim, and in the portal a
cluster, a customer (alice of tenant acme, with an API token and a browser session) and a
billing integration whose endpoint is the soak's receiver."""

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import psycopg

BILLING_KEY = "whsec-soak-key"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_soak"


def recreate_database(url: str) -> None:
    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def configure_environment(*, data_dir: Path, database_url: str, redis_url: str) -> None:
    """Settings for this process and every process it starts (they inherit os.environ)."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "PORTAL_READ_DOT_ENV": "false",
            "PORTAL_DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            # Web, workers, beat and this process share one queue of their own.
            "PORTAL_TEST_QUEUE": "soak",
            "LOG_LEVEL": "WARNING",
            # Outbound events are retried within the run, not over hours.
            "PORTAL_BILLING_DELIVERY_BACKOFF_SECONDS": "2",
            "PORTAL_BILLING_DELIVERY_BACKOFF_MAX_SECONDS": "15",
            "PORTAL_BILLING_DELIVERY_MAX_ATTEMPTS": "6",
            "PORTAL_BILLING_DELIVERY_OVERDUE_SECONDS": "30",
            # Failed backups too: a full storage's ten minutes would outlast the drain.
            "PORTAL_BACKUP_LOCKED_RETRY_SECONDS": "5",
            "PORTAL_BACKUP_STORAGE_FULL_RETRY_SECONDS": "5",
            "PORTAL_BACKUP_TASK_ERROR_RETRY_SECONDS": "5",
        }
    )


@dataclass(frozen=True)
class World:
    customer_token: str
    customer_cookie: str
    ostemplate: str
    tenant_slug: str


def populate(*, pvesim, receiver_url: str) -> World:
    """Migrate, seed the demo tenant and plans, register pvesim, and make the soak's accounts."""
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    from apps.access.services.tokens import token_create
    from apps.billing.models import Integration, IntegrationKey
    from apps.core.demo import DEMO_TENANT, seed_demo, seed_demo_cluster
    from apps.identity.models import User
    from apps.identity.services.users import user_create
    from apps.tenancy.models import Tenant
    from apps.tenancy.resources import Resources
    from apps.tenancy.services import quota_set

    call_command("migrate", verbosity=0)
    seed_demo()
    cluster = seed_demo_cluster(
        address=f"{pvesim.host}:{pvesim.port}", pvesim_data_dir=pvesim.data_dir
    )
    tenant = Tenant.objects.get(slug=DEMO_TENANT)
    quota_set(
        tenant=tenant,
        limits=Resources(
            guests=100, vcpus=400, memory_mb=10**6, disk_gb=10**5, snapshots=500, backup_gb=10**4
        ),
    )
    alice = User.objects.get(username="alice@pve")
    _token, secret = token_create(user=alice, name="soak", privsep=False)
    browser = Client()
    browser.force_login(alice)
    cookie_name = settings.SESSION_COOKIE_NAME
    principal = user_create(userid="billing@pve", is_staff=True)
    integration = Integration.objects.create(
        name="whmcs", principal=principal, default_cluster=cluster, endpoint_url=receiver_url
    )
    IntegrationKey.objects.create(integration=integration, label="soak", secret=BILLING_KEY)
    return World(
        customer_token=f"alice@pve!soak={secret}",
        customer_cookie=f"{cookie_name}={browser.cookies[cookie_name].value}",
        ostemplate=next(
            volid
            for volid in cluster.images.values_list("volid", flat=True)
            if "debian-12-standard" in volid
        ),
        tenant_slug=tenant.slug,
    )
