"""Permission checks per second through `apps.access.engine`: 100, 10,000 and 100,000 ACL entries.

Runs on a throw-away SQLite database and the local-memory cache (or the PostgreSQL of
DATABASE_URL, in a database named `portal_bench`, and the Redis of REDIS_URL):

    .venv/bin/python bench/acl_check.py

For each size it prints the time of the first check after a change (which compiles the model),
then checks per second and microseconds per check for pairs evaluated for the first time since
that rebuild (cold) and for the same pairs again (cached). Numbers only, no assertions.
"""

import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._report import record
from bench.api_guests import setup_django

SIZES = (100, 10_000, 100_000)
USERS = 1_000
GROUPS = 50
CHECKS = 20_000


def populate(size: int) -> list:
    """`size` ACL entries over users, groups and pools; returns the users."""
    from django.contrib.auth.hashers import make_password

    from apps.access.compiled import access_changed
    from apps.access.models import AclEntry, Group, Pool, PoolGuest
    from apps.identity.models import Realm, User

    AclEntry.objects.all().delete()
    Pool.objects.all().delete()
    Group.objects.all().delete()
    User.objects.all().delete()
    realm = Realm.objects.get(name="pve")
    users = User.objects.bulk_create(
        User(username=f"u{n}@pve", realm=realm, password=make_password(None)) for n in range(USERS)
    )
    groups = Group.objects.bulk_create(Group(name=f"g{n}") for n in range(GROUPS))
    membership = Group.members.through
    membership.objects.bulk_create(
        membership(group_id=groups[n % GROUPS].pk, user_id=user.pk) for n, user in enumerate(users)
    )
    pools = Pool.objects.bulk_create(Pool(name=f"p{n}") for n in range(GROUPS))
    PoolGuest.objects.bulk_create(
        PoolGuest(pool=pools[n % GROUPS], vmid=100 + n) for n in range(0, size, 10)
    )
    # Each pool granted to its group; the rest: 70 % user and 20 % group grants on guests,
    # 10 % user grants on storages.
    entries = [
        AclEntry(path=f"/pool/{pool.name}", role="PVEVMAdmin", group=group)
        for pool, group in zip(pools, groups, strict=True)
    ]
    for n in range(size - len(entries)):
        kind = n % 10
        if kind < 7:
            entries.append(
                AclEntry(path=f"/vms/{100 + n}", role="PVEVMUser", user=users[n % USERS])
            )
        elif kind < 9:
            entries.append(
                AclEntry(path=f"/vms/{100 + n}", role="PVEAuditor", group=groups[n % GROUPS])
            )
        else:
            entries.append(
                AclEntry(path=f"/storage/s{n}", role="PVEDatastoreUser", user=users[n % USERS])
            )
    # Bulk rows stand in for a long history of service calls; those would bump the version.
    AclEntry.objects.bulk_create(entries, batch_size=5_000)
    access_changed()
    return users


def run(size: int) -> None:
    from apps.access import engine
    from apps.access.models import AclEntry

    users = populate(size)
    rng = random.Random(size)  # noqa: S311 - reproducible sampling, not secrets
    pairs = [
        (rng.choice(users), f"/vms/{rng.randrange(100, 100 + max(size, 1_000))}")
        for _ in range(CHECKS)
    ]
    started = time.perf_counter()
    engine.has_privileges(pairs[0][0], pairs[0][1], "VM.Audit")
    first_check = time.perf_counter() - started

    def timed() -> float:
        begin = time.perf_counter()
        for user, path in pairs:
            engine.has_privileges(user, path, "VM.Audit")
        return time.perf_counter() - begin

    cold, cached = timed(), timed()
    entries = AclEntry.objects.count()
    print(f"acl entries            {entries}")
    print(f"first check (rebuild)  {first_check * 1e3:.1f} ms")
    record("acl_check", f"{size} entries, first check (rebuild)", first_check * 1e3, "ms")
    for label, seconds in (("cold", cold), ("cached", cached)):
        per_check = seconds / len(pairs)
        print(f"{label:<22} {1 / per_check:,.0f} checks/s  {per_check * 1e6:.2f} us/check")
        record(
            "acl_check",
            f"{size} entries, {label}",
            1 / per_check,
            "checks/s",
            higher_is_better=True,
        )
    print()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="acl-bench-") as data_dir:
        setup_django(data_dir)
        from django.conf import settings

        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(f"checks per size: {CHECKS}, users: {USERS}, groups: {GROUPS}, cache: {cache}\n")
        for size in SIZES:
            run(size)


if __name__ == "__main__":
    main()
