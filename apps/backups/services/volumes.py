"""One backup: finding it as the caller may see it, changing its notes and protection, deleting
it. A backup of a live guest is reached through the guest's path (`/vms/{vmid}`); one whose
guest is gone, through its tenant's pool, which is where the guest's grants came from."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import audit_record
from apps.backups.models import Backup
from apps.backups.services.create import NOTES_MAX_LENGTH
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.tenancy.models import Tenant

BACKUP_UPDATE = "backup.update"
BACKUP_DELETE = "backup.delete"


def backup_acl_path(backup: Backup) -> str:
    """Where the caller's privileges on the backup are checked."""
    if backup.guest_id is not None or backup.tenant is None:
        return backup.acl_path
    return f"/pool/{backup.tenant.slug}"


def _refuse_if_inactive(backup: Backup, actor: Principal) -> None:
    owner = getattr(actor, "user", actor)
    tenant = backup.tenant
    if tenant is not None and tenant.status != Tenant.Status.ACTIVE and not owner.is_superuser:
        raise ValidationError(f"tenant '{tenant.slug}' is {tenant.status}: it is read-only")


def _refuse_if_busy(backup: Backup) -> None:
    busy = (
        Operation.objects.filter(kind__in=(BACKUP_UPDATE, BACKUP_DELETE), params__backup=backup.pk)
        .exclude(state__in=Operation.TERMINAL_STATES)
        .exists()
    )
    if busy:
        raise ValidationError(f"backup {backup.pk} has an operation in progress; wait for it")


def _backup_operation(
    *, kind: str, backup: Backup, actor: Principal, steps: list[tuple[str, dict]], key: str
) -> Operation:
    operation = operation_create(
        kind=kind,
        cluster=backup.cluster,
        guest=backup.guest,
        tenant=backup.tenant,
        target=backup.acl_path,
        actor=audit_actor(actor),
        steps=steps,
        idempotency_key=key,
    )
    operation.params = {**operation.params, "backup": backup.pk}
    operation.save(update_fields=["params"])
    return operation


def backup_update(
    *,
    backup: Backup,
    actor: Principal,
    notes: str | None = None,
    protected: bool | None = None,
    idempotency_key: str = "",
) -> Operation:
    """Change the backup's notes or protection on PVE (a protected backup is never pruned nor
    deleted). PVE asks for VM.Backup on the guest for both."""
    if notes is not None and (len(notes) > NOTES_MAX_LENGTH or "\n" in notes or "\r" in notes):
        raise ValidationError({"notes": f"one line of at most {NOTES_MAX_LENGTH} characters"})
    if notes is None and protected is None:
        raise ValidationError("name the notes or the protection to change")
    change = {
        key: value
        for key, value in (("notes", notes), ("protected", protected))
        if value is not None
    }
    with transaction.atomic():
        require(actor, ["VM.Backup"], backup_acl_path(backup))
        backup = (
            Backup.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=backup.pk)
        )
        _refuse_if_inactive(backup, actor)
        _refuse_if_busy(backup)
        operation = _backup_operation(
            kind=BACKUP_UPDATE,
            backup=backup,
            actor=actor,
            steps=[("backup_volume_update", {"volid": backup.volid, **change})],
            key=idempotency_key,
        )
        audit_record(
            action="backups.backup_update",
            actor=audit_actor(actor),
            target=backup.acl_path,
            detail={"operation": str(operation.pk), "volid": backup.volid, **change},
        )
    return operation


def backup_delete(*, backup: Backup, actor: Principal, idempotency_key: str = "") -> Operation:
    """Remove the backup from its storage; protected ones must be unprotected first."""
    with transaction.atomic():
        require(actor, ["VM.Backup"], backup_acl_path(backup))
        backup = (
            Backup.objects.select_for_update(of=("self",))
            .select_related("tenant")
            .get(pk=backup.pk)
        )
        if backup.protected:
            raise ValidationError(
                f"backup {backup.pk} is protected: remove the protection to delete it"
            )
        _refuse_if_inactive(backup, actor)
        _refuse_if_busy(backup)
        operation = _backup_operation(
            kind=BACKUP_DELETE,
            backup=backup,
            actor=actor,
            steps=[("backup_volume_delete", {"volid": backup.volid})],
            key=idempotency_key,
        )
        audit_record(
            action="backups.backup_delete",
            actor=audit_actor(actor),
            target=backup.acl_path,
            detail={"operation": str(operation.pk), "volid": backup.volid},
        )
    return operation
