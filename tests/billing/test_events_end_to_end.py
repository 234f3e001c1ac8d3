"""On pvesim, with a worker: operations ending and tenants suspended send their events to the
integration's endpoint, and write the guest's state history; traffic is read from PVE's
graphs (rrddata)."""

import datetime
import time

import pytest
from django.utils import timezone

from apps.billing.models import GuestState, UsageRecord
from apps.billing.terminations import terminations_due
from apps.billing.usage import hour_floor, usage_hour_compute
from apps.guests.models import Guest
from apps.guests.services import guest_power
from apps.operations.models import Operation
from tests.billing.conftest import deliver, event
from tests.billing.test_end_to_end import accepted, plans  # noqa: F401 (fixture)
from tests.guests.conftest import wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


def received(receiver, type_: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in receiver.events() if e["type"] == type_]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {type_} event arrived")


def states(vmid: int) -> list[tuple]:
    return [
        (s.running, s.cores, s.memory_mb, s.disk_gb, s.valid_to is None)
        for s in GuestState.objects.filter(vmid=vmid)
    ]


def traffic_by_hand(pvesim_root, guest: Guest, start: datetime.datetime, now) -> tuple:
    points = pvesim_root.nodes(guest.node).qemu(guest.vmid).rrddata.get(timeframe="hour")
    inside = [p for p in points if start.timestamp() < p["time"] <= now.timestamp()]
    return (
        round(sum(p.get("netin", 0) * 60 for p in inside)),
        round(sum(p.get("netout", 0) * 60 for p in inside)),
    )


def test_guest_events_reach_the_endpoint_and_history_is_kept(
    plans,  # noqa: F811
    integration,
    receiver,
    worker,
    pvesim_root,
) -> None:
    integration.endpoint_url = receiver.url
    integration.save()
    created = accepted(
        deliver(
            event(
                "evt-c",
                "service.create",
                service="svc-1",
                customer={"id": "42", "name": "ACME"},
                plan="small",
                template=9000,
                hostname="web1",
            )
        )
    )
    guest = Guest.objects.get(pk=created[0].guest_id)
    news = received(receiver, "guest.created")
    assert news["data"]["vmid"] == guest.vmid
    assert (news["data"]["service"], news["data"]["customer"]) == ("svc-1", "42")
    assert news["data"]["operation"] == str(created[0].pk)
    assert states(guest.vmid) == [(True, 1, 1024, 20, True)]

    now = timezone.now()
    (record,) = usage_hour_compute(hour=now, now=now)
    start = hour_floor(now)
    assert (record.net_in_bytes, record.net_out_bytes) == traffic_by_hand(
        pvesim_root, guest, start, now
    )
    assert UsageRecord.objects.get().vcpu_hours > 0

    # An operation that fails (PVE has no such guest) is told as operation.failed.
    ghost = Guest.objects.create(
        vmid=987654,
        cluster=guest.cluster,
        node=guest.node,
        type="qemu",
        tenant=guest.tenant,
        status="stopped",
    )
    failing = guest_power(guest=ghost, action="start", actor=integration.principal)
    assert wait_until_terminal(failing.pk).state == Operation.State.FAILED
    failure = received(receiver, "operation.failed")
    assert (failure["data"]["kind"], failure["data"]["vmid"]) == ("guest.start", 987654)
    ghost.delete()

    accepted(deliver(event("evt-s", "service.suspend", service="svc-1")))
    assert received(receiver, "tenant.suspended")["data"]["customer"] == "42"
    assert states(guest.vmid) == [(True, 1, 1024, 20, False), (False, 1, 1024, 20, True)]

    terminating = accepted(deliver(event("evt-t", "service.terminate", service="svc-1")))
    assert terminating == []  # already stopped
    (deletion,) = terminations_due(now=timezone.now() + datetime.timedelta(days=4))
    assert wait_until_terminal(deletion.pk, timeout=60).state == "succeeded"
    gone = received(receiver, "guest.deleted")
    assert (gone["data"]["vmid"], gone["data"]["service"]) == (guest.vmid, "svc-1")
    assert GuestState.objects.filter(vmid=guest.vmid, valid_to__isnull=True).count() == 0
    ids = [e["id"] for e in receiver.events()]
    assert len(ids) == len(set(ids))  # each event delivered once
