"""Guest inventory: mirrored from /cluster/resources, adopted by pool, vanished ones flagged."""

import uuid

import pytest

from apps.audit.models import AuditEvent
from apps.clusters.services import cluster_register
from apps.guests.models import Guest, Image
from apps.guests.services import guests_sync, images_sync
from apps.tenancy.models import Tenant
from tests.guests.conftest import wait_for_task
from tests.services.pve_access import make_token

pytestmark = pytest.mark.django_db


def test_sync_mirrors_guests_and_templates(cluster, cloned_vmid) -> None:
    report = guests_sync(cluster=cluster)
    assert cloned_vmid in report.added
    guest = Guest.objects.get(vmid=cloned_vmid)
    assert (guest.type, guest.node, guest.status, guest.template) == (
        "qemu",
        "pve1",
        "stopped",
        False,
    )
    assert Guest.objects.get(vmid=9000).template
    assert guests_sync(cluster=cluster).added == []


def test_guests_in_a_tenant_pool_are_adopted(cluster, cloned_vmid, pvesim_root) -> None:
    acme = Tenant.objects.create(name="ACME", slug=f"acme{uuid.uuid4().hex[:8]}")
    pvesim_root.pools.post(poolid=acme.slug)
    pvesim_root.pools.put(poolid=acme.slug, vms=str(cloned_vmid))

    report = guests_sync(cluster=cluster)

    assert cloned_vmid in report.adopted
    assert Guest.objects.get(vmid=cloned_vmid).tenant == acme


def test_vanished_guests_are_flagged_not_dropped(cluster, cloned_vmid, pvesim_root) -> None:
    guests_sync(cluster=cluster)
    upid = pvesim_root.nodes("pve1").qemu(cloned_vmid).delete(purge=1)
    wait_for_task(pvesim_root, upid)

    report = guests_sync(cluster=cluster)

    assert cloned_vmid in report.vanished
    guest = Guest.objects.get(vmid=cloned_vmid)
    assert guest.vanished_at is not None
    assert guest.status == "unknown"
    assert AuditEvent.objects.filter(
        action="guests.vanished", target=f"/vms/{cloned_vmid}"
    ).exists()


def test_sizes_changed_behind_the_portals_back_are_recorded_as_drift(
    cluster, cloned_vmid, pvesim_root
) -> None:
    acme = Tenant.objects.create(name="ACME", slug=f"acme{uuid.uuid4().hex[:8]}")
    pvesim_root.pools.post(poolid=acme.slug)
    pvesim_root.pools.put(poolid=acme.slug, vms=str(cloned_vmid))
    guests_sync(cluster=cluster)
    before = Guest.objects.get(vmid=cloned_vmid)
    pvesim_root.nodes("pve1").qemu(cloned_vmid).config.put(cores=before.cores + 2)

    report = guests_sync(cluster=cluster)

    assert report.drifted == [cloned_vmid]
    assert Guest.objects.get(vmid=cloned_vmid).cores == before.cores + 2
    event = AuditEvent.objects.get(action="guests.drift")
    assert event.detail == {"cores": [before.cores, before.cores + 2]}
    assert guests_sync(cluster=cluster).drifted == []  # recorded once, not at every sync


def test_a_vmid_known_on_another_cluster_is_reported_not_taken_over(
    cluster, cloned_vmid, pvesim, pvesim_root
) -> None:
    guests_sync(cluster=cluster)
    token = make_token(pvesim_root)
    twin = cluster_register(
        name="twin",
        api_addresses=[f"{pvesim.host}:{pvesim.port}"],
        token_id=token.token_id,
        token_secret=token.secret,
        fingerprint=pvesim.fingerprint,
    )
    report = guests_sync(cluster=twin)
    assert cloned_vmid in report.conflicts
    assert Guest.objects.get(vmid=cloned_vmid).cluster == cluster


def test_adoption_is_audited_and_a_later_pool_move_keeps_the_owner(
    cluster, cloned_vmid, pvesim_root
) -> None:
    from apps.access.models import PoolGuest
    from apps.audit.models import AuditEvent

    acme = Tenant.objects.create(name="ACME", slug=f"acme{uuid.uuid4().hex[:8]}")
    other = Tenant.objects.create(name="Other", slug=f"other{uuid.uuid4().hex[:8]}")
    for tenant in (acme, other):
        pvesim_root.pools.post(poolid=tenant.slug)
    pvesim_root.pools.put(poolid=acme.slug, vms=str(cloned_vmid))
    guests_sync(cluster=cluster)
    assert AuditEvent.objects.filter(
        action="guests.adopted", target=f"/vms/{cloned_vmid}", detail__tenant=acme.slug
    ).exists()

    pvesim_root.pools.put(poolid=other.slug, vms=str(cloned_vmid), **{"allow-move": 1})
    report = guests_sync(cluster=cluster)

    assert report.pool_mismatches == [cloned_vmid]
    assert Guest.objects.get(vmid=cloned_vmid).tenant == acme
    assert PoolGuest.objects.get(vmid=cloned_vmid).pool.name == acme.slug


@pytest.mark.django_db(transaction=True)
def test_two_syncs_of_one_cluster_at_once_do_not_collide(cluster, cloned_vmid) -> None:
    import threading

    from django.db import connections

    errors: list[Exception] = []

    def sync() -> None:
        try:
            guests_sync(cluster=cluster)
            images_sync(cluster=cluster)
        except Exception as error:  # collected for the assertion below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sync) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Guest.objects.filter(vmid=cloned_vmid).count() == 1
    assert Image.objects.filter(cluster=cluster).count() == images_sync(cluster=cluster)
