"""Guest list latency through the REST API at 1,000 and 10,000 guests, and queries per request.

Runs on a throw-away SQLite database (or the PostgreSQL of DATABASE_URL, in a database named
`portal_bench` that it creates and drops):

    .venv/bin/python bench/api_guests.py

A tenant user with PVEVMAdmin on the tenant's pool lists the first page (50) of the tenant's
guests, half of all guests; an operator lists the same page of all guests. Prints p50 and p99
latency in milliseconds and the number of SQL queries per request. Numbers only.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
from bench._report import record  # noqa: E402

SIZES = (1_000, 10_000)
REQUESTS = 200


def setup_django(data_dir: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
    os.environ["PORTAL_DATA_DIR"] = data_dir
    os.environ["PORTAL_READ_DOT_ENV"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        os.environ["DATABASE_URL"] = database_url.rsplit("/", 1)[0] + "/portal_bench"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    import django

    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        _recreate_postgres_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _recreate_postgres_database() -> None:
    import psycopg
    from django.conf import settings

    options = settings.DATABASES["default"]
    with psycopg.connect(
        host=options["HOST"],
        port=options["PORT"] or 5432,
        user=options["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute("DROP DATABASE IF EXISTS portal_bench")
        admin.execute("CREATE DATABASE portal_bench")


def populate(size: int, cluster, tenant) -> None:
    from apps.access.compiled import access_changed
    from apps.access.models import Pool, PoolGuest
    from apps.guests.models import Guest

    Guest.objects.all().delete()
    PoolGuest.objects.all().delete()
    pool, _ = Pool.objects.get_or_create(name=tenant.slug)
    Guest.objects.bulk_create(
        Guest(
            vmid=1000 + n,
            cluster=cluster,
            node=f"pve{n % 3 + 1}",
            type="qemu",
            name=f"guest-{n}",
            status="running",
            tenant=tenant if n % 2 == 0 else None,
            pool=tenant.slug if n % 2 == 0 else "",
            cores=1,
            memory_mb=1024,
            disk_gb=10,
        )
        for n in range(size)
    )
    PoolGuest.objects.bulk_create(PoolGuest(pool=pool, vmid=1000 + n) for n in range(0, size, 2))
    access_changed()


def measure(client) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/api/v1/guests/")  # compile the access model once
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get("/api/v1/guests/")
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(
                f"guest list answered {response.status_code}: {response.content[:300]!r}"
            )
    with CaptureQueriesContext(connection) as captured:
        client.get("/api/v1/guests/")
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1], len(captured)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as data_dir:
        setup_django(data_dir)
        from django.db import connection
        from rest_framework.test import APIClient

        from apps.access.services import acl_modify
        from apps.clusters.models import Cluster
        from apps.identity.services.users import user_create
        from apps.tenancy.models import Tenant

        cluster = Cluster.objects.create(
            name="bench",
            api_addresses=["h"],
            token_id="a@pve!t",
            token_secret="s",
            fingerprint="AA",
        )
        tenant = Tenant.objects.create(name="Bench", slug="bench")
        user = user_create(userid="alice@pve", password="x", tenant=tenant)
        operator = user_create(userid="op@pve", password="x", is_staff=True)
        acl_modify(path="/pool/bench", roles=["PVEVMAdmin"], users=["alice@pve"])
        clients = {}
        for name, who in (("tenant user", user), ("operator", operator)):
            clients[name] = APIClient(SERVER_NAME="localhost")
            clients[name].force_authenticate(who)
        print(
            f"GET /api/v1/guests/ (first page of 50), {REQUESTS} requests, "
            f"database {connection.vendor}"
        )
        print(f"{'guests':>8}  {'caller':<12} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8}")
        for size in SIZES:
            populate(size, cluster, tenant)
            for name, client in clients.items():
                p50, p99, queries = measure(client)
                print(f"{size:>8}  {name:<12} {p50:>8.1f} {p99:>8.1f} {queries:>8}")
                where = f"{size} guests, {name}"
                record("api_guests", f"{where}, p50", p50, "ms")
                record("api_guests", f"{where}, p99", p99, "ms")
                record("api_guests", f"{where}, queries", queries, "queries")


if __name__ == "__main__":
    main()
