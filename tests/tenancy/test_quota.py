"""Quota enforcement by reservation: clear refusals, releases, and no race past the limit."""

import threading

import pytest
from django.db import connections, transaction

from apps.audit.models import AuditEvent
from apps.clusters.models import Cluster
from apps.guests.models import Guest
from apps.guests.selectors import tenant_guest_usage
from apps.operations.models import Operation
from apps.tenancy.models import Reservation, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import QuotaExceeded, quota_reserve, quota_set, reservation_release


@pytest.fixture
def acme(db) -> Tenant:
    tenant = Tenant.objects.create(name="ACME", slug="acme")
    quota_set(tenant=tenant, limits=Resources(guests=5, vcpus=8, memory_mb=8192, disk_gb=200))
    return tenant


def reserve(tenant: Tenant, **need: int) -> Reservation:
    return quota_reserve(
        tenant=tenant, need=Resources(**need), in_use=lambda: tenant_guest_usage(tenant=tenant)
    )


@pytest.mark.django_db
def test_usage_counts_live_guests_and_open_reservations(acme) -> None:
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    Guest.objects.create(
        vmid=100,
        cluster=cluster,
        node="pve1",
        type="qemu",
        tenant=acme,
        cores=2,
        memory_mb=2048,
        disk_gb=32,
    )
    Guest.objects.create(
        vmid=101,
        cluster=cluster,
        node="pve1",
        type="qemu",
        tenant=acme,
        cores=4,
        memory_mb=4096,
        disk_gb=32,
        vanished_at="2026-01-01T00:00Z",
    )
    reserve(acme, guests=1, vcpus=2, memory_mb=2048, disk_gb=32)

    with pytest.raises(QuotaExceeded) as refused:
        reserve(acme, guests=1, vcpus=6, memory_mb=1024, disk_gb=10)

    assert refused.value.exceeded == {"vcpus": {"used": 4, "requested": 6, "limit": 8}}
    assert "vcpus: 4 in use + 6 requested > 8 allowed" in str(refused.value)
    assert Reservation.objects.count() == 1


@pytest.mark.django_db
def test_released_reservations_give_the_quota_back(acme) -> None:
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    operation = Operation.objects.create(
        kind="guest.create", cluster=cluster, target="/vms", actor="system", actor_kind="system"
    )
    reserve(acme, guests=5)
    with pytest.raises(QuotaExceeded):
        reserve(acme, guests=1)
    Reservation.objects.update(operation=operation)
    reservation_release(operation=operation)
    assert reserve(acme, guests=1).guests == 1


@pytest.mark.django_db
def test_lowering_a_quota_below_usage_blocks_growth_and_deletes_nothing(acme) -> None:
    reserve(acme, guests=3)
    quota_set(tenant=acme, limits=Resources(guests=1))
    with pytest.raises(QuotaExceeded, match="guests: 3 in use"):
        reserve(acme, guests=1)
    assert Reservation.objects.filter(released_at__isnull=True).count() == 1
    assert reserve(acme, snapshots=0).guests == 0  # asking for nothing still works
    assert AuditEvent.objects.filter(action="tenancy.quota_set", target="acme").count() == 2


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_requests_for_five_slots_yield_exactly_five(acme) -> None:
    """On PostgreSQL the quota row lock decides; on SQLite, IMMEDIATE write transactions."""
    start = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def request() -> None:
        try:
            start.wait()
            with transaction.atomic():
                reserve(acme, guests=1, vcpus=1)
            outcome = "reserved"
        except QuotaExceeded as error:
            outcome = (
                "refused"
                if "guests: 5 in use + 1 requested > 5 allowed" in str(error)
                else f"wrong refusal: {error}"
            )
        finally:
            connections.close_all()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=request) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused"] * 15 + ["reserved"] * 5
    assert Reservation.objects.filter(tenant=acme).count() == 5
