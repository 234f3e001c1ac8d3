"""Portal pages without PVE: a tenant with guests in its pool, its admin, a foreign tenant with
one guest, plans and a VM template. Nothing here reaches a worker (non-transactional tests never
commit, so no operation is enqueued)."""

from dataclasses import dataclass

import pytest
from django.test import Client

from apps.access.compiled import access_changed
from apps.access.models import Pool, PoolGuest
from apps.clusters.models import Cluster
from apps.guests.models import Guest
from apps.identity.models import User
from apps.identity.services.users import user_create
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import tenant_admin_create, tenant_create


@dataclass
class Portal:
    cluster: Cluster
    acme: Tenant
    other: Tenant
    alice: User
    small: Plan
    foreign: Guest
    client: Client

    def add_guests(self, count: int, *, start: int = 1000, status: str = "running") -> list[Guest]:
        """`count` guests of ACME in its pool, tagged like real ones."""
        guests = Guest.objects.bulk_create(
            Guest(
                vmid=start + n,
                cluster=self.cluster,
                node=f"pve{n % 3 + 1}",
                type="qemu" if n % 4 else "lxc",
                name=f"web-{start + n}",
                status=status if n % 3 else "stopped",
                tenant=self.acme,
                plan=self.small,
                pool=self.acme.slug,
                tags="prod;web" if n % 2 else "db",
                cores=1,
                memory_mb=512,
                disk_gb=5,
            )
            for n in range(count)
        )
        pool = Pool.objects.get(name=self.acme.slug)
        PoolGuest.objects.bulk_create(PoolGuest(pool=pool, vmid=guest.vmid) for guest in guests)
        access_changed()
        return guests


def _pool_guest(tenant: Tenant, guest: Guest) -> None:
    from apps.access.services import pool_set_guest

    pool_set_guest(vmid=guest.vmid, pool_name=tenant.slug)


@pytest.fixture
def portal(db) -> Portal:
    cluster = Cluster.objects.create(
        name="c1", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    limits = Resources(guests=3, vcpus=4, memory_mb=4096, disk_gb=100, snapshots=5)
    acme = tenant_create(slug="acme", name="ACME", limits=limits)
    other = tenant_create(slug="other", name="Other", limits=limits)
    alice = tenant_admin_create(tenant=acme, userid="alice@pve", password="x")
    tenant_admin_create(tenant=other, userid="olga@pve", password="x")
    small = Plan.objects.create(name="Small", slug="small", cores=1, memory_mb=1024, disk_gb=10)
    Guest.objects.create(
        vmid=9000, cluster=cluster, node="pve1", type="qemu", template=True, name="debian12-cloud"
    )
    foreign = Guest.objects.create(
        vmid=200,
        cluster=cluster,
        node="pve1",
        type="qemu",
        name="secret",
        status="running",
        tenant=other,
        pool="other",
    )
    _pool_guest(other, foreign)
    client = Client()
    client.force_login(alice)
    return Portal(cluster, acme, other, alice, small, foreign, client)


@pytest.fixture
def operator(db) -> User:
    return user_create(userid="op@pve", password="x", is_staff=True)
