"""Usage of a scripted day, driven through the state history with explicit timestamps, equals
figures computed by hand; computing again changes nothing; the API answers JSON and CSV."""

import datetime
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from apps.backups.models import Backup
from apps.billing.models import GuestState, OutboundEvent, UsageHour, UsageRecord
from apps.billing.states import guest_state_close, guest_state_record
from apps.billing.usage import usage_hour_close, usage_hours_close
from apps.clusters.models import Cluster
from apps.guests.models import CREATING, Guest
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db

DAY = datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC)


def at(hour: int, minute: int = 0) -> datetime.datetime:
    return DAY + datetime.timedelta(hours=hour, minutes=minute)


def change(guest: Guest, when: datetime.datetime, **values: object) -> None:
    """What an operation's finisher does (an update), then what its end records."""
    Guest.objects.filter(pk=guest.pk).update(**values)
    guest.refresh_from_db()
    guest_state_record(guest=guest, at=when)


@pytest.fixture
def scripted_day() -> Tenant:
    """10:00 created (2 vCPU, 2 GiB, 20 GiB) and running; 10:30 resized to 4 vCPU, 4 GiB,
    40 GiB; 11:15 stopped; 13:45 deleted. A 5 GiB backup exists from 11:30 to 12:30."""
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    tenant = Tenant.objects.create(name="ACME", slug="acme")
    guest = Guest.objects.create(
        vmid=500, cluster=cluster, node="pve1", type="qemu", tenant=tenant, status=CREATING
    )
    change(guest, at(10), status="running", cores=2, memory_mb=2048, disk_gb=20)
    change(guest, at(10, 30), cores=4, memory_mb=4096, disk_gb=40)
    change(guest, at(11, 15), status="stopped")
    guest_state_close(vmid=500, at=at(13, 45))
    guest.delete()
    Backup.objects.create(
        cluster=cluster,
        tenant=tenant,
        vmid=500,
        storage="local",
        volid="local:backup/vzdump-qemu-500-2026_01_05-11_30_00.vma.zst",
        size=5 * 1024**3,
        ctime=at(11, 30),
        vanished_at=at(12, 30),
    )
    return tenant


# By hand: (vCPU-hours, memory GB-hours, disk GB-hours, backup GB-hours, bytes in, out).
EXPECTED = {
    # 10:00-10:30 2 vCPU, 2 GiB, 20 GiB; 10:30-11:00 4 vCPU, 4 GiB, 40 GiB; all running.
    10: (Decimal("3"), Decimal("3"), Decimal("30"), Decimal("0"), None, None),
    # 11:00-11:15 running at 4/4/40, then stopped (disk only); the backup from 11:30.
    11: (Decimal("1"), Decimal("1"), Decimal("40"), Decimal("2.5"), None, None),
    # Stopped all hour: its disk; the backup until 12:30. Never ran: no traffic.
    12: (Decimal("0"), Decimal("0"), Decimal("40"), Decimal("2.5"), 0, 0),
    # Deleted at 13:45.
    13: (Decimal("0"), Decimal("0"), Decimal("30"), Decimal("0"), 0, 0),
}


def figures() -> dict[int, tuple]:
    return {
        record.hour.hour: (
            record.vcpu_hours,
            record.memory_gb_hours,
            record.disk_gb_hours,
            record.backup_gb_hours,
            record.net_in_bytes,
            record.net_out_bytes,
        )
        for record in UsageRecord.objects.filter(vmid=500)
    }


def test_a_scripted_day_is_metered_as_computed_by_hand(scripted_day) -> None:
    assert [
        (state.running, state.cores, state.valid_from, state.valid_to)
        for state in GuestState.objects.filter(vmid=500)
    ] == [
        (True, 2, at(10), at(10, 30)),
        (True, 4, at(10, 30), at(11, 15)),
        (False, 4, at(11, 15), at(13, 45)),
    ]
    for hour in range(9, 15):
        usage_hour_close(hour=at(hour), now=at(23))
    assert figures() == EXPECTED  # the guest is gone: no graphs to read its traffic from

    # Closing the day again (a retried beat) neither double counts nor re-emits.
    for hour in range(9, 15):
        usage_hour_close(hour=at(hour), now=at(23, 30))
    assert figures() == EXPECTED
    assert UsageRecord.objects.count() == 4
    events = OutboundEvent.objects.filter(type="usage.hourly").order_by("created")
    assert [event.data["hour"] for event in events] == [at(h).isoformat() for h in range(10, 14)]
    assert events[0].data["totals"]["vcpu_hours"] == 3.0
    assert events[1].data["guests"][0]["backup_gb_hours"] == 2.5


def test_beat_closes_the_hours_not_closed_yet(scripted_day) -> None:
    assert usage_hours_close(now=at(11, 5)) == [at(10)]  # the first run: the previous hour
    assert usage_hours_close(now=at(11, 10)) == []
    assert usage_hours_close(now=at(14, 5)) == [at(11), at(12), at(13)]
    assert list(UsageHour.objects.values_list("hour", flat=True)) == [
        at(h) for h in (13, 12, 11, 10)
    ]
    assert figures() == EXPECTED


def test_the_usage_api_answers_the_tenants_records_as_json_and_csv(scripted_day) -> None:
    for hour in range(10, 14):
        usage_hour_close(hour=at(hour), now=at(23))
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    client = APIClient()
    client.force_authenticate(user_create(userid="alice@pve", password="x", tenant=scripted_day))
    day = "from=2026-01-05&to=2026-01-06"
    rows = client.get(f"/api/v1/usage?{day}").json()
    assert [row["hour"] for row in rows] == [at(h).isoformat() for h in range(10, 14)]
    assert rows[1] == {
        "tenant": "acme",
        "hour": "2026-01-05T11:00:00+00:00",
        "vmid": 500,
        "vcpu_hours": 1.0,
        "memory_gb_hours": 1.0,
        "disk_gb_hours": 40.0,
        "backup_gb_hours": 2.5,
        "net_in_bytes": None,
        "net_out_bytes": None,
    }
    narrow = client.get("/api/v1/usage/?from=2026-01-05T12:00:00Z&to=2026-01-05T13:00:00Z")
    assert [row["hour"] for row in narrow.json()] == [at(12).isoformat()]

    csv = client.get(f"/api/v1/usage/?{day}&format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0] == (
        "tenant,hour,vmid,vcpu_hours,memory_gb_hours,disk_gb_hours,backup_gb_hours,"
        "net_in_bytes,net_out_bytes"
    )
    assert lines[3] == "acme,2026-01-05T12:00:00+00:00,500,0.0,0.0,40.0,2.5,0,0"
    by_accept = client.get(f"/api/v1/usage/?{day}", HTTP_ACCEPT="text/csv")
    assert by_accept.content == csv.content
    assert client.get("/api/v1/usage/?from=yesterday").status_code == 400

    operator = APIClient()
    operator.force_authenticate(user_create(userid="root2@pve", password="x", is_staff=True))
    Tenant.objects.create(name="Other", slug="other")
    assert len(operator.get(f"/api/v1/usage/?{day}&tenant=acme").json()) == 4
    assert operator.get(f"/api/v1/usage/?{day}&tenant=other").json() == []
    assert len(operator.get(f"/api/v1/usage/?{day}").json()) == 4
