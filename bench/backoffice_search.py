"""Server time of the back-office's global search and resource tree at 10,000 guests.

Runs on a throw-away SQLite database, or on the PostgreSQL of DATABASE_URL in a database named
`portal_backoffice_bench` that it creates and drops:

    .venv/bin/python bench/backoffice_search.py

One cluster with 10 nodes (a local and a shared storage each), 100 tenants with their pools and
10,000 guests spread over them. An operator searches (by VMID, by part of a name, by a tag, by
a node's name) and opens the dashboard, the server and pool views of the tree and one node's
branch, through Django's test client (the whole request). Prints p50 and p99 in milliseconds and
the SQL queries per request. Numbers only.
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._report import record
from bench.pages import measure

GUESTS = 10_000
TENANTS = 100
NODES = 10
DATABASE = "portal_backoffice_bench"


def setup_django(data_dir: str) -> None:
    """bench/api_guests.py's set-up, in a database of its own name (benches may run side by
    side)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings.test"
    os.environ["PORTAL_DATA_DIR"] = data_dir
    os.environ["PORTAL_READ_DOT_ENV"] = "false"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres"):
        os.environ["DATABASE_URL"] = database_url.rsplit("/", 1)[0] + f"/{DATABASE}"
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{data_dir}/bench.sqlite3"
    import django

    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        _postgres_admin(f"DROP DATABASE IF EXISTS {DATABASE}", f"CREATE DATABASE {DATABASE}")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _postgres_admin(*statements: str) -> None:
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
        for statement in statements:
            admin.execute(statement)


def populate() -> None:
    from apps.access.compiled import access_changed
    from apps.access.models import Pool, PoolGuest
    from apps.clusters.models import Cluster, Node, Storage
    from apps.guests.models import Guest
    from apps.tenancy.models import Quota, Tenant

    cluster = Cluster.objects.create(
        name="bench", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    nodes = Node.objects.bulk_create(
        Node(cluster=cluster, name=f"pve{n + 1}", online=True, cpu_count=32, memory_total=2**38)
        for n in range(NODES)
    )
    Storage.objects.bulk_create(
        Storage(cluster=cluster, node=node, storage=name, type=kind, shared=shared, total=2**42)
        for node in nodes
        for name, kind, shared in (("local", "dir", False), ("ceph-vm", "rbd", True))
    )
    tenants = Tenant.objects.bulk_create(
        Tenant(slug=f"tenant{n:03}", name=f"Tenant {n}") for n in range(TENANTS)
    )
    Quota.objects.bulk_create(Quota(tenant=tenant, guests=200) for tenant in tenants)
    pools = Pool.objects.bulk_create(Pool(name=tenant.slug) for tenant in tenants)
    guests = Guest.objects.bulk_create(
        Guest(
            vmid=1000 + n,
            cluster=cluster,
            node=f"pve{n % NODES + 1}",
            type="qemu" if n % 4 else "lxc",
            name=f"guest-{n}",
            status="running" if n % 3 else "stopped",
            tenant=tenants[n % TENANTS],
            pool=tenants[n % TENANTS].slug,
            tags="prod;web" if n % 5 else "db",
            cores=1,
            memory_mb=1024,
            disk_gb=10,
        )
        for n in range(GUESTS)
    )
    PoolGuest.objects.bulk_create(
        PoolGuest(pool=pools[n % TENANTS], vmid=guest.vmid) for n, guest in enumerate(guests)
    )
    access_changed()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as data_dir:
        setup_django(data_dir)
        from django.db import connection
        from django.test import Client

        from apps.identity.services.users import user_create

        populate()
        operator = user_create(userid="op@pve", password="x", is_staff=True)
        client = Client(SERVER_NAME="localhost")
        client.force_login(operator)
        pages = {
            "search VMID": "/operator/search/?q=5432",
            "search name": "/operator/search/?q=guest-99",
            "search tag": "/operator/search/?q=db",
            "search node": "/operator/search/?q=pve7",
            "search nothing": "/operator/search/?q=no-such-thing",
            "dashboard": "/operator/",
            "tree (server)": "/operator/tree/",
            "tree (pool)": "/operator/tree/?view=pool",
            "node branch": "/operator/tree/clusters/bench/nodes/pve3/",
        }
        print(
            f"back-office at {GUESTS} guests, {TENANTS} tenants, {NODES} nodes, database "
            f"{connection.vendor}"
        )
        print(f"{'page':<16} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8}")
        for page, url in pages.items():
            p50, p99, queries = measure(client, url)
            print(f"{page:<16} {p50:>8.1f} {p99:>8.1f} {queries:>8}")
            record("backoffice_search", f"{page}, p50", p50, "ms")
            record("backoffice_search", f"{page}, p99", p99, "ms")
            record("backoffice_search", f"{page}, queries", queries, "queries")
        if connection.vendor == "postgresql":
            connection.close()
            _postgres_admin(f"DROP DATABASE IF EXISTS {DATABASE}")


if __name__ == "__main__":
    main()
