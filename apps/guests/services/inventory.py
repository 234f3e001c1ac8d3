"""Mirroring PVE's guests and images into the portal."""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.access.services import pool_set_guest
from apps.audit.services import SYSTEM, audit_record
from apps.clusters.models import Cluster, Storage
from apps.clusters.services import client_for
from apps.guests.models import CREATING, Guest, Image
from apps.operations.models import Operation
from apps.proxmox import inventory
from apps.tenancy.models import Tenant

MIB, GIB = 1024**2, 1024**3


@dataclass
class GuestSyncReport:
    added: list[int] = field(default_factory=list)
    adopted: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    pool_mismatches: list[int] = field(default_factory=list)
    drifted: list[int] = field(default_factory=list)


def _sizes(guest: Guest) -> dict[str, int]:
    return {"cores": guest.cores, "memory_mb": guest.memory_mb, "disk_gb": guest.disk_gb}


def guests_sync(*, cluster: Cluster) -> GuestSyncReport:
    """Mirror PVE's guests: new ones in a tenant's pool are adopted by that tenant (audited);
    gone ones are flagged as vanished, never deleted; a VMID already known on another cluster,
    and a tenant's guest found in another pool, are reported for an operator."""
    read_at = timezone.now()
    found = inventory.guests_list(client_for(cluster))
    tenants_by_pool = {tenant.slug: tenant for tenant in Tenant.objects.all()}
    now = timezone.now()
    report = GuestSyncReport()
    with transaction.atomic():
        # One sync per cluster at a time, and none while a create takes a VMID there.
        Cluster.objects.select_for_update(no_key=True).get(pk=cluster.pk)
        known = {
            guest.vmid: guest
            for guest in Guest.objects.select_for_update().filter(vmid__in=[g.vmid for g in found])
        }
        # Sizes these guests change by the portal's own hand are not drift.
        busy = set(
            Operation.objects.exclude(state__in=Operation.TERMINAL_STATES).values_list(
                "guest_id", flat=True
            )
        )
        # What PVE said predates what these guests' operations did since (or are doing): they
        # are looked at next time.
        unsettled = Operation.objects.filter(guest__isnull=False).filter(
            Q(finished_at__isnull=True) | Q(finished_at__gte=read_at)
        )
        changed = set(unsettled.exclude(finished_at=None).values_list("guest_id", flat=True))
        for info in found:
            guest = known.get(info.vmid)
            if guest is not None and guest.cluster_id != cluster.pk:
                report.conflicts.append(info.vmid)
                continue
            if guest is not None and (guest.status == CREATING or guest.pk in changed):
                continue  # its create operation owns the row; a newer operation's word stands
            if guest is None:
                guest = Guest(vmid=info.vmid, cluster=cluster)
                report.added.append(info.vmid)
            sizes_before = _sizes(guest)
            guest.node, guest.type, guest.name = info.node, info.type, info.name
            guest.status, guest.template, guest.pool = info.status, info.template, info.pool
            guest.tags, guest.lock = info.tags, info.lock
            guest.cores = info.cores
            guest.memory_mb = info.memory_bytes // MIB
            guest.disk_gb = -(-info.disk_bytes // GIB)  # rounded up: a partial GiB counts
            guest.last_seen_at, guest.vanished_at = now, None
            drift = {
                name: [before, after]
                for (name, before), after in zip(
                    sizes_before.items(), _sizes(guest).values(), strict=True
                )
                if before != after
            }
            if guest.pk and guest.tenant_id and drift and guest.pk not in busy:
                # Changed on PVE behind the portal's back: it counts as it is now, and says so.
                report.drifted.append(info.vmid)
                audit_record(
                    action="guests.drift", actor=SYSTEM, target=guest.acl_path, detail=drift
                )
            if guest.tenant_id is None and info.pool in tenants_by_pool:
                guest.tenant = tenants_by_pool[info.pool]
                report.adopted.append(info.vmid)
                audit_record(
                    action="guests.adopted",
                    actor=SYSTEM,
                    target=guest.acl_path,
                    detail={"tenant": guest.tenant.slug, "cluster": cluster.name},
                )
            elif guest.tenant_id is not None and info.pool != guest.tenant.slug:
                # Moved to another pool on PVE: ownership stays, an operator decides.
                report.pool_mismatches.append(info.vmid)
            guest.save()
            # The portal owns tenancy: pool grants follow the tenant, else PVE's pool.
            pool_set_guest(
                vmid=info.vmid, pool_name=guest.tenant.slug if guest.tenant_id else info.pool
            )
        seen = {info.vmid for info in found}
        vanished = (
            Guest.objects.filter(cluster=cluster, vanished_at__isnull=True)
            .exclude(vmid__in=seen)
            .exclude(status=CREATING)
            .exclude(pk__in=unsettled.values("guest_id"))  # evaluated when they are flagged
            # Between its destroy and its re-creation a reinstalled guest is briefly gone.
            .exclude(
                pk__in=Operation.objects.filter(kind="guest.reinstall")
                .exclude(state__in=Operation.TERMINAL_STATES)
                .values("guest_id")
            )
        )
        report.vanished = sorted(vanished.values_list("vmid", flat=True))
        for vmid in report.vanished:
            audit_record(
                action="guests.vanished",
                actor=SYSTEM,
                target=f"/vms/{vmid}",
                detail={"cluster": cluster.name},
            )
        vanished.update(vanished_at=now, status="unknown")
    return report


def images_sync(*, cluster: Cluster) -> int:
    """Mirror the ISO images and container templates on the cluster's storages; shared storages
    are read once. Returns how many images the cluster has."""
    client = client_for(cluster)
    found: list[Image] = []
    shared_done: set[str] = set()
    storages = Storage.objects.filter(
        cluster=cluster, available=True, vanished_at__isnull=True, node__online=True
    ).select_related("node")
    for storage in storages:
        if storage.shared and storage.storage in shared_done:
            continue
        for content in {"iso", "vztmpl"} & set(storage.content):
            for item in inventory.storage_content(
                client, node=storage.node.name, storage=storage.storage, content=content
            ):
                found.append(
                    Image(
                        cluster=cluster,
                        node="" if storage.shared else storage.node.name,
                        storage=storage.storage,
                        volid=item.volid,
                        content=content,
                        size=item.size,
                    )
                )
        if storage.shared:
            shared_done.add(storage.storage)
    with transaction.atomic():
        # Two syncs of one cluster at once (beat and "sync now") must not both insert.
        Cluster.objects.select_for_update(no_key=True).get(pk=cluster.pk)
        Image.objects.filter(cluster=cluster).delete()
        Image.objects.bulk_create(found)
    return len(found)
