"""On-demand backups of a guest: vzdump as an operation, and the portal's mirror of the backup
volumes PVE lists. A backup counts against its tenant's quota (`backup_gb`); while it runs, the
guest's disk size is held as an upper bound of the archive's size."""

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import audit_record
from apps.backups.models import Backup
from apps.clusters.models import Storage
from apps.guests.models import CREATING, Guest
from apps.guests.selectors import tenant_guest_usage
from apps.guests.services.rules import (
    guest_operation_create,
    refuse_if_busy,
    refuse_if_tenant_inactive,
)
from apps.operations.models import Operation
from apps.proxmox.backups import BackupVolume
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_reserve

BACKUP_CREATE = "guest.backup"
MODES = ("snapshot", "suspend", "stop")
NOTES_MAX_LENGTH = 1024  # PVE's `notes-template`


def backup_list(*, guest: Guest) -> QuerySet[Backup]:
    """The live backups of a guest the caller found through the scoped `guest_get`."""
    return Backup.objects.filter(guest=guest, vanished_at__isnull=True)


def backup_storage(*, guest: Guest) -> Storage | None:
    """Where a backup of the guest goes by default: the first available storage of its node
    that takes backups."""
    candidates = Storage.objects.filter(
        cluster=guest.cluster, node__name=guest.node, available=True, vanished_at__isnull=True
    )
    return next((s for s in candidates if "backup" in s.content), None)


def _storage_named(guest: Guest, name: str) -> Storage | None:
    storage = Storage.objects.filter(
        cluster=guest.cluster,
        node__name=guest.node,
        storage=name,
        available=True,
        vanished_at__isnull=True,
    ).first()
    return storage if storage is not None and "backup" in storage.content else None


def backup_create(
    *,
    guest: Guest,
    actor: Principal,
    storage: str | None = None,
    mode: str = "snapshot",
    notes: str = "",
    protected: bool = False,
    idempotency_key: str = "",
) -> Operation:
    """Back the guest up with vzdump. PVE asks for VM.Backup on the guest and
    Datastore.AllocateSpace on the storage; the portal asks the same of its user."""
    errors: dict[str, str] = {}
    if mode not in MODES:
        errors["mode"] = f"one of {', '.join(MODES)}"
    if len(notes) > NOTES_MAX_LENGTH:
        errors["notes"] = f"at most {NOTES_MAX_LENGTH} characters"
    if "\n" in notes or "\r" in notes:
        errors["notes"] = "one line"
    if errors:
        raise ValidationError(errors)
    target = _storage_named(guest, storage) if storage else backup_storage(guest=guest)
    if target is None:
        raise ValidationError(
            {"storage": f"no available storage for backups named '{storage}' on {guest.node}"}
            if storage
            else f"no storage on node {guest.node} takes backups"
        )
    with transaction.atomic():
        require(actor, ["VM.Backup"], guest.acl_path)
        require(actor, ["Datastore.AllocateSpace"], f"/storage/{target.storage}")
        guest = Guest.objects.select_for_update(of=("self",)).get(pk=guest.pk)
        if guest.status == CREATING or guest.vanished_at is not None:
            raise ValidationError(f"guest {guest.vmid} cannot be backed up now")
        if guest.template:
            raise ValidationError(f"{guest.vmid} is a template")
        refuse_if_tenant_inactive(guest, actor)
        refuse_if_busy(guest)
        if (
            guest.operations.filter(kind=BACKUP_CREATE)
            .exclude(state__in=Operation.TERMINAL_STATES)
            .exists()
        ):
            raise ValidationError(f"guest {guest.vmid} has a backup in progress; wait for it")
        operation = guest_operation_create(
            kind=BACKUP_CREATE,
            guest=guest,
            actor=actor,
            steps=[
                (
                    "backup_vzdump",
                    {
                        "storage": target.storage,
                        "mode": mode,
                        "notes": notes,
                        "protected": protected,
                    },
                )
            ],
            idempotency_key=idempotency_key,
        )
        if guest.tenant is not None:
            quota_reserve(
                tenant=guest.tenant,
                operation=operation,
                need=Resources(backup_gb=max(guest.disk_gb, 1)),
                in_use=lambda: tenant_guest_usage(tenant=guest.tenant),
            )
        audit_record(
            action="backups.backup_create",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={
                "operation": str(operation.pk),
                "storage": target.storage,
                "mode": mode,
                "protected": protected,
            },
        )
    return operation


def _time(ctime: int | None) -> datetime | None:
    return datetime.fromtimestamp(ctime, tz=UTC) if ctime is not None else None


def backups_mirror(*, guest: Guest, storage: str, listing: list[BackupVolume]) -> None:
    """Make the mirror of the guest's backups on `storage` what PVE listed: new ones added,
    changed ones updated, the ones PVE no longer lists flagged as vanished."""
    now = timezone.now()
    with transaction.atomic():
        listed = {volume.volid for volume in listing}
        Backup.objects.filter(
            cluster=guest.cluster, vmid=guest.vmid, storage=storage, vanished_at__isnull=True
        ).exclude(volid__in=listed).update(vanished_at=now)
        for volume in listing:
            Backup.objects.update_or_create(
                cluster=guest.cluster,
                volid=volume.volid,
                defaults={
                    "guest": guest,
                    "vmid": guest.vmid,
                    "node": guest.node,
                    "storage": storage,
                    "format": volume.format,
                    "size": volume.size,
                    "ctime": _time(volume.ctime),
                    "notes": volume.notes,
                    "protected": volume.protected,
                    "vanished_at": None,
                },
            )
