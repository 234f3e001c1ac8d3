"""The guest sync reads PVE, then writes the portal: an operation that ends in between must not
be undone by what PVE said before it (found by the soak test: a create that failed and was
flagged for an operator while the sync ran came out `vanished`, its guest an orphan on PVE)."""

import threading
import time

import pytest
from django.db import connections
from django.utils import timezone

from apps.audit.services import Actor
from apps.guests.models import CREATING, Guest
from apps.guests.services import guests_sync
from apps.operations.models import Operation

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("ended", [True, False], ids=["ended", "finisher-run"])
def test_a_create_that_ends_while_the_sync_reads_pve_is_not_flagged_vanished(
    acme, cluster, pvesim_faults, ended
) -> None:
    guest = Guest.objects.create(
        vmid=990001, cluster=cluster, node="pve1", type="qemu", name="fresh", status=CREATING,
        tenant=acme, pool=acme.slug, cores=2, memory_mb=2048, disk_gb=40,
    )  # fmt: skip
    operation = Operation.objects.create(
        kind="guest.create", cluster=cluster, guest=guest, tenant=acme, target=guest.acl_path,
        actor=Actor.system().name, actor_kind=Actor.system().kind, state="running",
    )  # fmt: skip
    # PVE answers the sync slowly; the guest is not made yet when it reads.
    pvesim_faults(rules=[{"match": r"^GET /cluster/resources$", "latency_ms": 3000}])
    reports = []

    def sync() -> None:
        try:
            reports.append(guests_sync(cluster=cluster))
        finally:
            connections.close_all()

    thread = threading.Thread(target=sync)
    thread.start()
    time.sleep(0.3)  # the sync waits for PVE's answer...
    # ...while the create ends (here: flagged for an operator after a failed cleanup), or has
    # run its finisher but is not yet saved as ended.
    Guest.objects.filter(pk=guest.pk).update(status="error")
    if ended:
        Operation.objects.filter(pk=operation.pk).update(state="failed", finished_at=timezone.now())
    thread.join()

    guest.refresh_from_db()
    assert (guest.status, guest.vanished_at) == ("error", None)
    assert guest.vmid not in reports[0].vanished
