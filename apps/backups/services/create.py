"""Backups of a guest: vzdump as an operation, on demand or by a schedule. A backup counts
against its tenant's quota (`backup_gb`); while it runs, the guest's disk size is held as an
upper bound of the archive's size. A guest's plan limits how many backups it keeps."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import audit_record
from apps.backups.models import Backup, BackupSchedule
from apps.clusters.models import Storage
from apps.guests.models import CREATING, Guest
from apps.guests.selectors import tenant_guest_usage
from apps.guests.services.rules import (
    guest_lock,
    guest_operation_create,
    refuse_if_busy,
    refuse_if_tenant_inactive,
)
from apps.operations.models import Operation
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_reserve
from pvecore.prune import PruneOptions

BACKUP_CREATE = "guest.backup"
MODES = tuple(BackupSchedule.Mode.values)  # vzdump's --mode
NOTES_MAX_LENGTH = 1024  # PVE's `notes-template`


def backup_storage_name(guest: Guest) -> str:
    """The storage the tenant, else the guest's plan, chose for backups ('' for none)."""
    if guest.tenant is not None and guest.tenant.backup_storage:
        return guest.tenant.backup_storage
    return guest.plan.backup_storage if guest.plan is not None else ""


def backup_storage(*, guest: Guest, name: str = "") -> Storage | None:
    """Where a backup of the guest goes: the storage named (by the caller, the tenant or the
    plan), else the first available storage of its node that takes backups."""
    name = name or backup_storage_name(guest)
    candidates = Storage.objects.filter(
        cluster=guest.cluster, node__name=guest.node, available=True, vanished_at__isnull=True
    )
    if name:
        candidates = candidates.filter(storage=name)
    return next((s for s in candidates if "backup" in s.content), None)


def check_backup_options(*, mode: str, notes: str) -> None:
    errors: dict[str, str] = {}
    if mode not in MODES:
        errors["mode"] = f"one of {', '.join(MODES)}"
    if len(notes) > NOTES_MAX_LENGTH:
        errors["notes"] = f"at most {NOTES_MAX_LENGTH} characters"
    if "\n" in notes or "\r" in notes:
        errors["notes"] = "one line"
    if errors:
        raise ValidationError(errors)


def _refuse_over_plan_limit(guest: Guest, prune: PruneOptions | None) -> None:
    """The plan's per-guest limit: an on-demand backup needs a free place; a scheduled one
    makes room itself by pruning, so its retention must keep no more than the plan allows."""
    if guest.plan is None:
        return
    allowed = guest.plan.backups
    if prune is not None:
        keeps = None if prune.keeps_everything else sum(prune.counts().values())
        if keeps is None or keeps > allowed:
            raise ValidationError(
                f"plan '{guest.plan.slug}' allows {allowed} backup(s) per guest and the "
                f"schedule keeps {keeps if keeps is not None else 'every backup'}"
            )
        return
    kept = Backup.objects.filter(guest=guest, vanished_at__isnull=True).count()
    if kept >= allowed:
        raise ValidationError(
            f"plan '{guest.plan.slug}' allows {allowed} backup(s) per guest and "
            f"guest {guest.vmid} has {kept}: delete one first"
        )


def backup_create(
    *,
    guest: Guest,
    actor: Principal,
    storage: str | None = None,
    mode: str = "snapshot",
    notes: str = "",
    protected: bool = False,
    prune: PruneOptions | None = None,
    schedule: BackupSchedule | None = None,
    idempotency_key: str = "",
) -> Operation:
    """Back the guest up with vzdump (then prune by `prune`, for scheduled runs). PVE asks for
    VM.Backup on the guest and Datastore.AllocateSpace on the storage; the portal asks the same
    of its user."""
    check_backup_options(mode=mode, notes=notes)
    target = backup_storage(guest=guest, name=storage or "")
    if target is None:
        named = storage or backup_storage_name(guest)
        raise ValidationError(
            {"storage": f"no available storage for backups named '{named}' on {guest.node}"}
            if named
            else f"no storage on node {guest.node} takes backups"
        )
    steps: list[tuple[str, dict]] = [
        (
            "backup_vzdump",
            {"storage": target.storage, "mode": mode, "notes": notes, "protected": protected},
        )
    ]
    if prune is not None:
        steps.append(("backup_prune", {"storage": target.storage, "prune": prune.render()}))
    with transaction.atomic():
        require(actor, ["VM.Backup"], guest.acl_path)
        require(actor, ["Datastore.AllocateSpace"], f"/storage/{target.storage}")
        guest = guest_lock(guest, "plan", "tenant", "cluster")
        if guest.status == CREATING or guest.vanished_at is not None:
            raise ValidationError(f"guest {guest.vmid} cannot be backed up now")
        if guest.template:
            raise ValidationError(f"{guest.vmid} is a template")
        refuse_if_tenant_inactive(guest, actor)
        refuse_if_busy(guest)
        _refuse_over_plan_limit(guest, prune)
        operation = guest_operation_create(
            kind=BACKUP_CREATE,
            guest=guest,
            actor=actor,
            steps=steps,
            idempotency_key=idempotency_key,
        )
        if schedule is not None:
            operation.params = {**operation.params, "schedule": schedule.pk}
            operation.save(update_fields=["params"])
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
                **({"schedule": schedule.pk} if schedule is not None else {}),
            },
        )
    return operation
