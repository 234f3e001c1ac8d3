"""Guest inventory and lifecycle actions."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import audit_record
from apps.clusters.models import Cluster
from apps.clusters.services import client_for
from apps.guests.models import Guest
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.proxmox import inventory
from apps.proxmox.guests import POWER_ACTIONS
from apps.tenancy.models import Tenant

MIB, GIB = 1024**2, 1024**3


@dataclass
class GuestSyncReport:
    added: list[int] = field(default_factory=list)
    adopted: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)


def guests_sync(*, cluster: Cluster) -> GuestSyncReport:
    """Mirror PVE's guests: new ones in a tenant's pool are adopted by that tenant; gone ones are
    flagged as vanished, never deleted; a VMID already known on another cluster is reported."""
    found = inventory.guests_list(client_for(cluster))
    tenants_by_pool = {tenant.slug: tenant for tenant in Tenant.objects.all()}
    now = timezone.now()
    report = GuestSyncReport()
    with transaction.atomic():
        known = {
            guest.vmid: guest
            for guest in Guest.objects.select_for_update().filter(vmid__in=[g.vmid for g in found])
        }
        for info in found:
            guest = known.get(info.vmid)
            if guest is not None and guest.cluster_id != cluster.pk:
                report.conflicts.append(info.vmid)
                continue
            if guest is None:
                guest = Guest(vmid=info.vmid, cluster=cluster)
                report.added.append(info.vmid)
            guest.node, guest.type, guest.name = info.node, info.type, info.name
            guest.status, guest.template, guest.pool = info.status, info.template, info.pool
            guest.tags, guest.lock = info.tags, info.lock
            guest.cores = info.cores
            guest.memory_mb = info.memory_bytes // MIB
            guest.disk_gb = -(-info.disk_bytes // GIB)  # rounded up: a partial GiB counts
            guest.last_seen_at, guest.vanished_at = now, None
            if guest.tenant_id is None and info.pool in tenants_by_pool:
                guest.tenant = tenants_by_pool[info.pool]
                report.adopted.append(info.vmid)
            guest.save()
        seen = {info.vmid for info in found}
        vanished = Guest.objects.filter(cluster=cluster, vanished_at__isnull=True).exclude(
            vmid__in=seen
        )
        report.vanished = sorted(vanished.values_list("vmid", flat=True))
        vanished.update(vanished_at=now, status="unknown")
    return report


def guest_power(*, guest: Guest, action: str, actor: Principal) -> Operation:
    """Start, stop, shutdown, reboot, reset, suspend or resume: an Operation the worker runs."""
    if action not in POWER_ACTIONS[guest.type]:
        raise ValidationError(
            {"action": f"a {guest.get_type_display().lower()} has no '{action}' action"}
        )
    with transaction.atomic():
        require(actor, ["VM.PowerMgmt"], guest.acl_path)
        guest = Guest.objects.select_for_update().get(pk=guest.pk)
        if guest.vanished_at is not None:
            raise ValidationError(f"guest {guest.vmid} no longer exists on its cluster")
        if guest.template:
            raise ValidationError(f"{guest.vmid} is a template; templates are not powered on")
        operation = operation_create(
            kind=f"guest.{action}",
            cluster=guest.cluster,
            guest=guest,
            tenant=guest.tenant,
            target=guest.acl_path,
            actor=audit_actor(actor),
            steps=[("guest_power", {"action": action})],
        )
        audit_record(
            action=f"guests.{action}",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk)},
        )
    return operation
