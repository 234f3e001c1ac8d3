"""Hourly usage records, computed from the guests' state history and the backups' lifetimes,
so computing an hour again gives the same figures; network traffic from PVE's graphs.

What counts (docs/billing.md): vCPUs and memory while the guest runs; its disk while it exists,
running or not; a backup's size while PVE keeps it."""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.backups.models import Backup
from apps.billing.models import GuestState, UsageHour, UsageRecord
from apps.billing.outbound import event_emit
from apps.clusters.services import client_for
from apps.guests.models import Guest
from apps.proxmox.errors import ProxmoxError
from apps.proxmox.metrics import guest_rrddata
from apps.tenancy.models import Tenant

HOUR = datetime.timedelta(hours=1)
# A beat that was down catches up this far back, no further.
CATCH_UP = datetime.timedelta(hours=48)
GIB = Decimal(1024**3)
PRECISION = Decimal("0.000001")
QUANTITIES = ("vcpu_hours", "memory_gb_hours", "disk_gb_hours", "backup_gb_hours")


def hour_floor(moment: datetime.datetime) -> datetime.datetime:
    return moment.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)


def _hours(start: datetime.datetime, end: datetime.datetime) -> Decimal:
    seconds = Decimal(str((end - start).total_seconds()))
    return max(seconds, Decimal(0)) / 3600


@dataclass
class _Use:
    vcpu_hours: Decimal = Decimal(0)
    memory_gb_hours: Decimal = Decimal(0)
    disk_gb_hours: Decimal = Decimal(0)
    backup_gb_hours: Decimal = Decimal(0)
    ran: bool = False


def _uses(start: datetime.datetime, until: datetime.datetime) -> dict[tuple[int, int], _Use]:
    """(tenant id, VMID) -> what was used between start and until."""
    uses: dict[tuple[int, int], _Use] = defaultdict(_Use)
    states = GuestState.objects.filter(valid_from__lt=until).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=start)
    )
    for state in states:
        hours = _hours(max(state.valid_from, start), min(state.valid_to or until, until))
        if hours == 0:
            continue
        use = uses[(state.tenant_id, state.vmid)]
        use.disk_gb_hours += state.disk_gb * hours
        if state.running:
            use.vcpu_hours += state.cores * hours
            use.memory_gb_hours += Decimal(state.memory_mb) / 1024 * hours
            use.ran = True
    backups = Backup.objects.filter(tenant__isnull=False, ctime__lt=until).filter(
        Q(vanished_at__isnull=True) | Q(vanished_at__gt=start)
    )
    for backup in backups:
        hours = _hours(max(backup.ctime, start), min(backup.vanished_at or until, until))
        if hours:
            uses[(backup.tenant_id, backup.vmid)].backup_gb_hours += backup.size / GIB * hours
    return uses


def _traffic(vmid: int, start: datetime.datetime, end: datetime.datetime) -> tuple[int, int] | None:
    """Bytes in and out in [start, end) from the guest's hourly graph, or None when PVE has no
    graph of the whole span any more (it keeps about 70 minutes at one-minute steps)."""
    guest = Guest.objects.filter(vmid=vmid).select_related("cluster").first()
    if guest is None:
        return None
    try:
        points = guest_rrddata(
            client_for(guest.cluster), node=guest.node, guest_type=guest.type, vmid=vmid
        )
    except ProxmoxError:
        return None
    times = sorted(point.time for point in points)
    if len(times) < 2:
        return None
    step = times[1] - times[0]
    # A sample covers the `step` seconds that end at its time.
    if times[0] > start.timestamp() + step:
        return None
    inside = [point for point in points if start.timestamp() < point.time <= end.timestamp()]
    return (
        round(sum((point.netin or 0) * step for point in inside)),
        round(sum((point.netout or 0) * step for point in inside)),
    )


def usage_hour_compute(
    *, hour: datetime.datetime, now: datetime.datetime | None = None
) -> list[UsageRecord]:
    """The records of the hour that begins at (or contains) `hour`: one per tenant and guest
    that used anything, written over whatever an earlier computation wrote. Of the hour that
    is still running, the part until `now`. Traffic once measured is kept: PVE's graphs are
    consolidated later, so they are read once, while they still hold the hour."""
    now = now or timezone.now()
    start = hour_floor(hour)
    end = start + HOUR
    uses = _uses(start, min(end, now))
    measured = {
        (record.tenant_id, record.vmid): (record.net_in_bytes, record.net_out_bytes)
        for record in UsageRecord.objects.filter(hour=start, net_in_bytes__isnull=False)
    }
    for key, use in uses.items():
        if key not in measured:
            measured[key] = _traffic(key[1], start, min(end, now)) if use.ran else (0, 0)
    records = []
    with transaction.atomic():
        for (tenant_id, vmid), use in sorted(uses.items()):
            net_in, net_out = measured.get((tenant_id, vmid)) or (None, None)
            record, _created = UsageRecord.objects.update_or_create(
                tenant_id=tenant_id,
                vmid=vmid,
                hour=start,
                defaults={
                    **{name: getattr(use, name).quantize(PRECISION) for name in QUANTITIES},
                    "net_in_bytes": net_in,
                    "net_out_bytes": net_out,
                    "computed_at": now,
                },
            )
            records.append(record)
    return records


def usage_event_data(tenant: Tenant, start: datetime.datetime, records: list) -> dict:
    return {
        "tenant": tenant.slug,
        "hour": start.isoformat(),
        "end": (start + HOUR).isoformat(),
        "totals": {
            **{name: float(sum(getattr(r, name) for r in records)) for name in QUANTITIES},
            "net_in_bytes": sum(r.net_in_bytes or 0 for r in records),
            "net_out_bytes": sum(r.net_out_bytes or 0 for r in records),
        },
        "guests": [usage_row(record) for record in records],
    }


def usage_row(record: UsageRecord) -> dict:
    return {
        "vmid": record.vmid,
        **{name: float(getattr(record, name)) for name in QUANTITIES},
        "net_in_bytes": record.net_in_bytes,
        "net_out_bytes": record.net_out_bytes,
    }


def usage_hour_close(
    *, hour: datetime.datetime, now: datetime.datetime | None = None
) -> list[UsageRecord]:
    """Compute a past hour and tell each tenant's integrations (`usage.hourly`, once per
    tenant and hour, however often the hour is closed)."""
    now = now or timezone.now()
    start = hour_floor(hour)
    records = usage_hour_compute(hour=start, now=now)
    by_tenant: dict[int, list[UsageRecord]] = defaultdict(list)
    for record in records:
        by_tenant[record.tenant_id].append(record)
    with transaction.atomic():
        for tenant in Tenant.objects.filter(pk__in=by_tenant):
            event_emit(
                type_="usage.hourly",
                tenant=tenant,
                data=usage_event_data(tenant, start, by_tenant[tenant.pk]),
                event_id=f"evt_usage_{tenant.pk}_{start:%Y%m%d%H}",
            )
        UsageHour.objects.update_or_create(hour=start, defaults={"closed_at": now})
    return records


def usage_hours_close(*, now: datetime.datetime | None = None) -> list[datetime.datetime]:
    """Close every past hour not closed yet (after the last closed one, at most CATCH_UP
    back; the first run closes the previous hour)."""
    now = now or timezone.now()
    current = hour_floor(now)
    last = UsageHour.objects.order_by("-hour").values_list("hour", flat=True).first()
    hour = max(last + HOUR if last else current - HOUR, current - CATCH_UP)
    closed = []
    while hour < current:
        usage_hour_close(hour=hour, now=now)
        closed.append(hour)
        hour += HOUR
    return closed
