"""Restoring a backup: into a new guest of the backup's tenant (a create, quota-checked, with a
new VMID; a failed one is destroyed like any failed create), or over its own guest (typed
confirmation, the guest stopped first; the quota holds what the backup's sizes add)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import audit_record
from apps.backups.models import Backup
from apps.backups.services.volumes import backup_acl_path
from apps.clusters.models import Storage
from apps.guests.models import CREATING, Guest
from apps.guests.selectors import tenant_guest_usage
from apps.guests.services.create import create_operation
from apps.guests.services.rules import (
    check_guest_name,
    check_plan_offers,
    guest_lock,
    guest_operation_create,
    refuse_if_busy,
    refuse_if_tenant_inactive,
)
from apps.operations.models import Operation
from apps.tenancy.models import Plan
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_reserve

GUEST_RESTORE = "guest.restore"


def _sizes(backup: Backup) -> Resources:
    if not (backup.cores and backup.memory_mb and backup.disk_gb and backup.guest_type):
        raise ValidationError(
            f"backup {backup.pk} was not made through the portal and its sizes are unknown"
        )
    return Resources(vcpus=backup.cores, memory_mb=backup.memory_mb, disk_gb=backup.disk_gb)


def _storage_shared(backup: Backup) -> bool:
    return Storage.objects.filter(
        cluster=backup.cluster, storage=backup.storage, shared=True
    ).exists()


def backup_restore_new(
    *,
    backup: Backup,
    actor: Principal,
    name: str,
    plan: Plan | None = None,
    idempotency_key: str = "",
) -> Operation:
    """A new guest of the backup's tenant made from the archive, with the sizes the backup
    was made with, then started. It counts against the quota like any create."""
    check_guest_name(name)
    if backup.tenant is None:
        raise ValidationError(f"backup {backup.pk} belongs to no tenant")
    plan = plan or backup.plan
    if plan is None:
        raise ValidationError({"plan": "the backup's guest had no plan: name one"})
    check_plan_offers(plan=plan, cluster=backup.cluster, source=None, source_field="plan")
    sizes = _sizes(backup)
    # Reading the archive: PVE asks for VM.Backup where the backup is, and storage space.
    require(actor, ["VM.Backup"], backup_acl_path(backup))
    require(actor, ["Datastore.AllocateSpace"], f"/storage/{backup.storage}")
    return create_operation(
        tenant=backup.tenant,
        plan=plan,
        cluster=backup.cluster,
        guest_type=backup.guest_type,
        name=name,
        actor=actor,
        detail={"restored_from": backup.volid},
        build_steps=[("guest_restore", {"volid": backup.volid, "node": backup.node})],
        idempotency_key=idempotency_key,
        sizes=sizes,
    )


def backup_restore_over(
    *,
    backup: Backup,
    guest: Guest,
    actor: Principal,
    confirm: str,
    idempotency_key: str = "",
) -> Operation:
    """Replace the guest with the backup: stop it, restore over it (PVE's `force`), start it
    again if it was running. The guest's name must be typed to confirm; what it has now is
    lost."""
    if confirm != guest.name:
        raise ValidationError({"confirm": f"type the guest's name, '{guest.name}', to confirm"})
    if backup.cluster_id != guest.cluster_id or backup.vmid != guest.vmid:
        raise ValidationError({"backup": f"backup {backup.pk} is not a backup of {guest.vmid}"})
    sizes = _sizes(backup)
    if backup.node != guest.node and not _storage_shared(backup):
        raise ValidationError(
            f"backup {backup.pk} is on {backup.storage} of node {backup.node}, and guest "
            f"{guest.vmid} is on {guest.node}"
        )
    with transaction.atomic():
        require(actor, ["VM.Backup"], guest.acl_path)
        require(actor, ["Datastore.AllocateSpace"], f"/storage/{backup.storage}")
        guest = guest_lock(guest, "tenant")
        if guest.status == CREATING or guest.vanished_at is not None or guest.template:
            raise ValidationError(f"guest {guest.vmid} cannot be restored now")
        refuse_if_tenant_inactive(guest, actor)
        refuse_if_busy(guest)
        was_running = guest.status == "running"
        steps: list[tuple[str, dict]] = []
        if was_running:
            steps.append(("guest_power", {"action": "stop"}))
        steps.append(
            ("guest_restore", {"volid": backup.volid, "node": guest.node, "overwrite": True})
        )
        if was_running:
            steps.append(("guest_power", {"action": "start"}))
        operation = guest_operation_create(
            kind=GUEST_RESTORE,
            guest=guest,
            actor=actor,
            steps=steps,
            idempotency_key=idempotency_key,
        )
        operation.params = {**operation.params, "backup": backup.pk}
        operation.save(update_fields=["params"])
        if guest.tenant is not None:
            # Only what the restored guest has beyond what it has now counts anew.
            quota_reserve(
                tenant=guest.tenant,
                operation=operation,
                need=Resources(
                    vcpus=max(sizes.vcpus - guest.cores, 0),
                    memory_mb=max(sizes.memory_mb - guest.memory_mb, 0),
                    disk_gb=max(sizes.disk_gb - guest.disk_gb, 0),
                ),
                in_use=lambda: tenant_guest_usage(tenant=guest.tenant),
            )
        audit_record(
            action="backups.backup_restore",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk), "volid": backup.volid},
        )
    return operation
