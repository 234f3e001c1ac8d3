"""What must hold once a soak's traffic has drained: each check returns the problems it found
(none: it holds). Portal and PVE are compared both ways; nothing is synced before, so a drift
the run caused is seen, not repaired."""

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db.models import Count
from proxmoxer import ProxmoxAPI

from apps.backups.models import Backup
from apps.billing.models import BillingEvent, Delivery, OutboundEvent
from apps.guests.models import CREATING, Guest
from apps.guests.selectors import tenant_guest_usage
from apps.operations.models import Operation
from apps.tenancy.models import Reservation, Tenant
from apps.tenancy.resources import Resources


@dataclass
class Check:
    name: str
    checked: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def pve_sizes(resource: dict) -> tuple[int, int, int]:
    """Cores, MiB of memory and GiB of disk (rounded up) of a /cluster/resources item."""
    disk_gb = -(-int(resource["maxdisk"]) // 1024**3)
    return int(resource["maxcpu"]), int(resource["maxmem"]) // 1024**2, disk_gb


def operations_terminal() -> Check:
    operations = list(Operation.objects.all())
    check = Check("every operation terminal, failures with a reason", f"{len(operations)} ops")
    for operation in operations:
        if not operation.is_terminal:
            check.problems.append(f"{operation.kind} {operation.target} still {operation.state}")
        elif operation.state != Operation.State.SUCCEEDED and not operation.error:
            check.problems.append(
                f"{operation.kind} {operation.target} {operation.state}: no reason"
            )
    return check


def reservations_released() -> Check:
    open_ = Reservation.objects.filter(released_at__isnull=True)
    check = Check("no open reservation", f"{Reservation.objects.count()} reservations")
    check.problems = [f"reservation {r.pk} of operation {r.operation_id}" for r in open_]
    return check


def guests_match_pve(*, root: ProxmoxAPI, tenants: list[Tenant], name_prefix: str) -> Check:
    """No orphan on PVE, no portal guest PVE lacks, none left half-created, no duplicate (by
    the names the soak gave, and by VMID), and each guest's sizes as PVE has them."""
    on_pve = root.cluster.resources.get(type="vm")
    check = Check("portal and PVE agree guest by guest", f"{len(on_pve)} PVE guests")
    pools = {tenant.slug for tenant in tenants}
    in_pools = {int(g["vmid"]): g for g in on_pve if g.get("pool") in pools}
    portal = {g.vmid: g for g in Guest.objects.filter(tenant__in=tenants)}
    live = {vmid: g for vmid, g in portal.items() if g.vanished_at is None}
    for vmid, resource in sorted(in_pools.items()):
        guest = live.get(vmid)
        if guest is None or guest.status == "destroyed":
            check.problems.append(f"orphan on PVE: {vmid} {resource.get('name')}")
        elif (guest.cores, guest.memory_mb, guest.disk_gb) != pve_sizes(resource):
            sizes = (guest.cores, guest.memory_mb, guest.disk_gb)
            check.problems.append(f"{vmid}: portal sizes {sizes}, PVE {pve_sizes(resource)}")
        elif guest.tenant.slug != resource.get("pool"):
            check.problems.append(f"{vmid}: tenant {guest.tenant.slug}, pool {resource['pool']}")
    on_pve_vmids = {int(g["vmid"]) for g in on_pve}
    check.problems += [f"portal guest PVE lacks: {v}" for v in sorted(set(live) - on_pve_vmids)]
    check.problems += [f"left creating: {g.vmid}" for g in live.values() if g.status == CREATING]
    names = Counter(g.get("name") for g in on_pve if str(g.get("name", "")).startswith(name_prefix))
    check.problems += [f"{count} PVE guests named {n}" for n, count in names.items() if count > 1]
    stray = [g["vmid"] for g in on_pve if g.get("name") in names and int(g["vmid"]) not in in_pools]
    check.problems += [f"soak guest outside the tenants' pools: {vmid}" for vmid in stray]
    rows = Guest.objects.values("vmid").annotate(rows=Count("pk")).filter(rows__gt=1)
    check.problems += [f"{row['rows']} portal rows for VMID {row['vmid']}" for row in rows]
    return check


def _pve_snapshot_count(root: ProxmoxAPI, resource: dict) -> int:
    guest = getattr(root.nodes(resource["node"]), resource["type"])(resource["vmid"])
    return sum(1 for snapshot in guest.snapshot.get() if snapshot["name"] != "current")


def _pve_backups(root: ProxmoxAPI) -> dict[str, int]:
    """Every backup volume PVE lists, with its size."""
    volumes: dict[str, int] = {}
    for node in root.nodes.get():
        for storage in root.nodes(node["node"]).storage.get(content="backup"):
            content = root.nodes(node["node"]).storage(storage["storage"]).content
            for volume in content.get(content="backup"):
                volumes[volume["volid"]] = int(volume.get("size", 0))
    return volumes


def quota_usage_matches_pve(*, root: ProxmoxAPI, tenants: list[Tenant]) -> Check:
    """What each tenant's quota counts (apps.guests.selectors.tenant_guest_usage) recomputed
    from what PVE holds: guests and their sizes, snapshots, and backups (by volume)."""
    on_pve = root.cluster.resources.get(type="vm")
    backups = _pve_backups(root)
    check = Check("quota usage equals PVE's, per tenant", f"{len(tenants)} tenants")
    for tenant in tenants:
        mine = [g for g in on_pve if g.get("pool") == tenant.slug and not g.get("template")]
        sizes = [pve_sizes(g) for g in mine]
        vmids = set(Guest.objects.filter(tenant=tenant).values_list("vmid", flat=True))
        vmids |= set(Backup.objects.filter(tenant=tenant).values_list("vmid", flat=True))
        pve_backups = {
            volid: size
            for volid, size in backups.items()
            if (match := re.search(r"vzdump-(?:qemu|lxc)-(\d+)-", volid))
            and int(match.group(1)) in vmids
        }
        portal_backups = set(
            Backup.objects.filter(tenant=tenant, vanished_at__isnull=True).values_list(
                "volid", flat=True
            )
        )
        expected = Resources(
            guests=len(sizes),
            vcpus=sum(s[0] for s in sizes),
            memory_mb=sum(s[1] for s in sizes),
            disk_gb=sum(s[2] for s in sizes),
            snapshots=sum(_pve_snapshot_count(root, g) for g in mine),
            backup_gb=math.ceil(sum(pve_backups.values()) / 1024**3),
        )
        usage = tenant_guest_usage(tenant=tenant)
        if usage != expected:
            check.problems.append(f"{tenant.slug}: portal counts {usage}, PVE holds {expected}")
        for volid in sorted(set(pve_backups) ^ set(portal_backups)):
            side = "only on PVE" if volid in pve_backups else "only in the portal"
            check.problems.append(f"{tenant.slug}: backup {volid} {side}")
    return check


def inbound_webhooks_answered(
    answers: dict[str, int], *, replays: int, replay_problems: list[str]
) -> Check:
    """Every event the soak sent is stored, processed and answered as the sender was answered
    (`answers`: event id to the status it finally got); replays got the first answer."""
    stored = {e.event_id: e for e in BillingEvent.objects.all()}
    check = Check("no lost inbound webhook", f"{len(answers)} events, {replays} replays")
    for event_id, status in sorted(answers.items()):
        event = stored.get(event_id)
        if event is None:
            check.problems.append(f"{event_id}: answered {status}, not stored")
        elif event.processed_at is None or event.answer_status != status:
            check.problems.append(f"{event_id}: sender got {status}, stored {event.answer_status}")
        elif status >= 500:
            check.problems.append(f"{event_id}: answered {status}")
    check.problems += [f"stored, never sent: {e}" for e in sorted(set(stored) - set(answers))]
    check.problems += replay_problems
    return check


def outbound_events_delivered(received: set[str]) -> Check:
    """Every outbound event has its delivery, each delivered (and received, signed) or failed
    after its attempts."""
    deliveries = list(Delivery.objects.select_related("event"))
    check = Check("no lost outbound event", f"{len(deliveries)} deliveries")
    # Only tenants a billing system has a customer for are told (docs/billing.md).
    undelivered = OutboundEvent.objects.filter(
        deliveries__isnull=True, tenant__billing_customers__isnull=False
    ).distinct()
    check.problems += [f"{e.event_id} {e.type}: no delivery" for e in undelivered]
    for delivery in deliveries:
        name = f"{delivery.event.event_id} {delivery.event.type}"
        if delivery.state == Delivery.State.PENDING:
            check.problems.append(f"{name}: still pending after {delivery.attempts} attempts")
        elif delivery.state == Delivery.State.FAILED and not delivery.attempts:
            check.problems.append(f"{name}: failed without an attempt")
        elif delivery.state == Delivery.State.DELIVERED and delivery.event.event_id not in received:
            check.problems.append(f"{name}: delivered, never received")
    return check


SERVER_ERROR = re.compile(r'HTTP/[\d.]+" 500|Traceback|Internal Server Error')


def web_log_clean(log: Path) -> Check:
    lines = log.read_text(errors="replace").splitlines()
    check = Check("no 500, no traceback in the web server's log", f"{len(lines)} lines")
    check.problems = [line.strip() for line in lines if SERVER_ERROR.search(line)]
    return check
