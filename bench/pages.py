"""Server time of the customer portal's pages at 1,000 guests, and queries per request.

Runs on a throw-away SQLite database (or the PostgreSQL of DATABASE_URL, in a database named
`portal_bench` that it creates and drops, as bench/api_guests.py does):

    .venv/bin/python bench/pages.py

A tenant user with PVEVMAdmin on the tenant's pool (half of all guests are the tenant's, each
with a finished operation) and an operator open the dashboard, the guest list (first page of 50)
and one guest's detail page through Django's test client (the whole request: middleware, session,
views, templates). Prints p50 and p99 in milliseconds and the SQL queries per request. Numbers
only.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# The same throw-away database set-up as the API benchmark.
from bench._report import record
from bench.api_guests import setup_django

GUESTS = 1_000
REQUESTS = 200


def populate(cluster, tenant, actor) -> int:
    from apps.access.compiled import access_changed
    from apps.access.models import Pool, PoolGuest
    from apps.audit.services import Actor
    from apps.guests.models import Guest
    from apps.operations.models import Operation, Step

    pool, _ = Pool.objects.get_or_create(name=tenant.slug)
    guests = Guest.objects.bulk_create(
        Guest(
            vmid=1000 + n,
            cluster=cluster,
            node=f"pve{n % 3 + 1}",
            type="qemu" if n % 4 else "lxc",
            name=f"guest-{n}",
            status="running" if n % 3 else "stopped",
            tenant=tenant if n % 2 == 0 else None,
            pool=tenant.slug if n % 2 == 0 else "",
            tags="prod;web" if n % 5 else "db",
            notes="**Managed** by the bench. See [docs](https://example.com).",
            cores=1,
            memory_mb=1024,
            disk_gb=10,
        )
        for n in range(GUESTS)
    )
    PoolGuest.objects.bulk_create(
        PoolGuest(pool=pool, vmid=guest.vmid) for guest in guests if guest.tenant_id
    )
    who = Actor.user(actor)
    operations = Operation.objects.bulk_create(
        Operation(
            kind="guest.start",
            state="succeeded",
            cluster=cluster,
            guest=guest,
            tenant=guest.tenant,
            target=guest.acl_path,
            actor=who.name,
            actor_kind=who.kind,
        )
        for guest in guests
    )
    Step.objects.bulk_create(
        Step(operation=operation, position=0, name="guest_power", state="done")
        for operation in operations
    )
    access_changed()
    return guests[0].vmid  # a tenant guest


def measure(client, url: str) -> tuple[float, float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # compile the access model once
    timings = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1], len(captured)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="portal-bench-") as data_dir:
        setup_django(data_dir)
        from django.db import connection
        from django.test import Client

        from apps.access.services import acl_modify
        from apps.clusters.models import Cluster
        from apps.identity.services.users import user_create
        from apps.tenancy.resources import Resources
        from apps.tenancy.services import tenant_create

        cluster = Cluster.objects.create(
            name="bench",
            api_addresses=["h"],
            token_id="a@pve!t",
            token_secret="s",
            fingerprint="AA",
        )
        tenant = tenant_create(
            slug="bench",
            name="Bench",
            limits=Resources(guests=2000, vcpus=4000, memory_mb=4_000_000, disk_gb=40_000),
        )
        user = user_create(userid="alice@pve", password="x", tenant=tenant)
        operator = user_create(userid="op@pve", password="x", is_staff=True)
        acl_modify(path="/pool/bench", roles=["PVEVMAdmin"], users=["alice@pve"])
        vmid = populate(cluster, tenant, user)
        pages = {"dashboard": "/", "guest list": "/guests/", "guest detail": f"/guests/{vmid}/"}
        print(
            f"portal pages at {GUESTS} guests ({GUESTS // 2} the tenant's), {REQUESTS} requests "
            f"each, database {connection.vendor}"
        )
        print(f"{'page':<14} {'caller':<12} {'p50 ms':>8} {'p99 ms':>8} {'queries':>8}")
        for caller, who in (("tenant user", user), ("operator", operator)):
            client = Client(SERVER_NAME="localhost")
            client.force_login(who)
            for page, url in pages.items():
                p50, p99, queries = measure(client, url)
                print(f"{page:<14} {caller:<12} {p50:>8.1f} {p99:>8.1f} {queries:>8}")
                record("pages", f"{page}, {caller}, p50", p50, "ms")
                record("pages", f"{page}, {caller}, p99", p99, "ms")
                record("pages", f"{page}, {caller}, queries", queries, "queries")


if __name__ == "__main__":
    main()
