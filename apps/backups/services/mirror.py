"""The portal's mirror of the backup volumes PVE lists: what a backup step or the storage
content sync saw becomes the Backup rows. A backup keeps its tenant, plan and the guest's sizes
at backup time, so it stays listed, counted and restorable after its guest is gone."""

from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.backups.models import Backup
from apps.clusters.models import Cluster, Storage
from apps.guests.models import Guest
from apps.proxmox.backups import BackupVolume


def _time(ctime: int | None) -> datetime | None:
    return datetime.fromtimestamp(ctime, tz=UTC) if ctime is not None else None


def _guest_fields(guest: Guest) -> dict[str, object]:
    return {
        "guest": guest,
        "tenant": guest.tenant,
        "plan": guest.plan,
        "guest_type": guest.type,
        "guest_name": guest.name,
        "cores": guest.cores,
        "memory_mb": guest.memory_mb,
        "disk_gb": guest.disk_gb,
    }


def _volume_fields(volume: BackupVolume, node: str, storage: str) -> dict[str, object]:
    return {
        "node": node,
        "storage": storage,
        "format": volume.format,
        "size": volume.size,
        "ctime": _time(volume.ctime),
        "notes": volume.notes,
        "protected": volume.protected,
        "vanished_at": None,
    }


def backups_mirror(*, guest: Guest, storage: str, listing: list[BackupVolume]) -> None:
    """Make the mirror of the guest's backups on `storage` what PVE listed: new ones added,
    changed ones updated, the ones PVE no longer lists flagged as vanished."""
    now = timezone.now()
    with transaction.atomic():
        listed = {volume.volid for volume in listing}
        gone = Backup.objects.filter(
            cluster=guest.cluster, vmid=guest.vmid, storage=storage, vanished_at__isnull=True
        ).exclude(volid__in=listed)
        if not Storage.objects.filter(cluster=guest.cluster, storage=storage, shared=True).exists():
            # A local storage lists only this node's backups; those made on another node
            # before the guest moved are still there.
            gone = gone.filter(Q(node=guest.node) | Q(node=""))
        gone.update(vanished_at=now)
        for volume in listing:
            backup = Backup.objects.filter(cluster=guest.cluster, volid=volume.volid).first()
            fields = _volume_fields(volume, guest.node, storage)
            if backup is None:
                Backup.objects.create(
                    cluster=guest.cluster,
                    volid=volume.volid,
                    vmid=guest.vmid,
                    **_guest_fields(guest),
                    **fields,
                )
            elif _of_this_guest(backup, guest):
                # A backup made before a resize keeps the sizes it was made with.
                Backup.objects.filter(pk=backup.pk).update(guest=guest, **fields)
            else:  # a deleted guest's that had the same VMID: it stays its tenant's
                Backup.objects.filter(pk=backup.pk).update(**fields)


def _of_this_guest(backup: Backup, guest: Guest) -> bool:
    """Made of this guest, or of a deleted guest of the same tenant (re-adopted since)."""
    if backup.guest_id is not None:
        return backup.guest_id == guest.pk
    return backup.tenant_id == guest.tenant_id


def storage_backups_mirror(
    *, cluster: Cluster, node: str, storage: str, listing: list[BackupVolume], shared: bool
) -> int:
    """The storage content sync: the backups PVE lists on `storage` of the tenants' guests,
    including those made on PVE directly and those of guests since deleted (still listed until
    pruned or deleted). Backups of guests the portal never had are not its business. Returns
    how many backups are new to the portal."""
    now = timezone.now()
    with transaction.atomic():
        known = {b.volid: b for b in Backup.objects.filter(cluster=cluster, storage=storage)}
        guests = {
            g.vmid: g
            for g in Guest.objects.filter(
                cluster=cluster,
                tenant__isnull=False,
                vmid__in={v.vmid for v in listing if v.vmid is not None},
            ).select_related("tenant", "plan")
        }
        added = 0
        for volume in listing:
            fields = _volume_fields(volume, node, storage)
            if volume.volid in known:
                Backup.objects.filter(pk=known[volume.volid].pk).update(**fields)
            elif volume.vmid in guests:
                Backup.objects.create(
                    cluster=cluster,
                    volid=volume.volid,
                    vmid=volume.vmid,
                    **_guest_fields(guests[volume.vmid]),
                    **fields,
                )
                added += 1
        gone = Backup.objects.filter(
            cluster=cluster, storage=storage, vanished_at__isnull=True
        ).exclude(volid__in={v.volid for v in listing})
        if not shared:  # a local storage lists only this node's backups
            gone = gone.filter(Q(node=node) | Q(node=""))
        gone.update(vanished_at=now)
    return added
