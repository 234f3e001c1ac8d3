"""Actions on existing guests: power, settings (name, tags, notes), resize and delete."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import audit_record
from apps.guests.models import CREATING, Guest
from apps.guests.selectors import tenant_guest_usage
from apps.guests.services.rules import (
    check_guest_name,
    guest_lock,
    guest_operation_create,
    refuse_if_busy,
    refuse_if_tenant_inactive,
)
from apps.operations.models import Operation
from apps.proxmox.guests import POWER_ACTIONS
from apps.tenancy.models import Plan
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_reserve
from pvecore.tags import is_valid_tag, join_tags


def guest_power(
    *, guest: Guest, action: str, actor: Principal, idempotency_key: str = ""
) -> Operation:
    """Start, stop, shutdown, reboot, reset, suspend or resume: an Operation the worker runs."""
    if action not in POWER_ACTIONS[guest.type]:
        raise ValidationError(
            {"action": f"a {guest.get_type_display().lower()} has no '{action}' action"}
        )
    with transaction.atomic():
        require(actor, ["VM.PowerMgmt"], guest.acl_path)
        guest = guest_lock(guest)
        if guest.vanished_at is not None:
            raise ValidationError(f"guest {guest.vmid} no longer exists on its cluster")
        if guest.template:
            raise ValidationError(f"{guest.vmid} is a template; templates are not powered on")
        refuse_if_tenant_inactive(guest, actor)
        operation = guest_operation_create(
            kind=f"guest.{action}",
            guest=guest,
            actor=actor,
            steps=[("guest_power", {"action": action})],
            idempotency_key=idempotency_key,
        )
        audit_record(
            action=f"guests.{action}",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk)},
        )
    return operation


def guest_delete(*, guest: Guest, actor: Principal, idempotency_key: str = "") -> Operation:
    """Stop the guest if it runs, then destroy it with its disks (purge)."""
    with transaction.atomic():
        require(actor, ["VM.Allocate"], guest.acl_path)
        guest = guest_lock(guest)
        if guest.status == CREATING:
            raise ValidationError(f"guest {guest.vmid} is still being created")
        refuse_if_tenant_inactive(guest, actor)
        refuse_if_busy(guest)
        steps: list[tuple[str, dict]] = []
        if guest.status != "stopped":
            steps.append(("guest_power", {"action": "stop"}))
        steps.append(("guest_destroy", {}))
        operation = guest_operation_create(
            kind="guest.delete",
            guest=guest,
            actor=actor,
            steps=steps,
            idempotency_key=idempotency_key,
        )
        audit_record(
            action="guests.delete",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk)},
        )
    return operation


def guest_resize(
    *, guest: Guest, plan: Plan, actor: Principal, idempotency_key: str = ""
) -> Operation:
    """Move a guest to another plan: cores and memory up or down, the disk only up (PVE cannot
    shrink disks). What grows is reserved against the quota with the operation."""
    with transaction.atomic():
        require(actor, ["VM.Config.CPU", "VM.Config.Memory", "VM.Config.Disk"], guest.acl_path)
        guest = guest_lock(guest)
        if guest.status == CREATING or guest.vanished_at is not None:
            raise ValidationError(f"guest {guest.vmid} cannot be resized now")
        refuse_if_tenant_inactive(guest, actor)
        refuse_if_busy(guest)
        if not plan.active:
            raise ValidationError({"plan": f"plan '{plan.slug}' is no longer offered"})
        if plan.disk_gb < guest.disk_gb:
            raise ValidationError(
                {
                    "plan": f"plan '{plan.slug}' has a {plan.disk_gb} GiB disk; "
                    f"this guest's is {guest.disk_gb} GiB and PVE cannot "
                    "shrink disks"
                }
            )
        sizes = {"cores": plan.cores, "memory_mb": plan.memory_mb, "disk_gb": plan.disk_gb}
        operation = guest_operation_create(
            kind="guest.resize",
            guest=guest,
            actor=actor,
            steps=[("guest_configure", sizes), ("guest_grow_disk", sizes)],
            idempotency_key=idempotency_key,
        )
        operation.params["resize"] = {**sizes, "plan": plan.pk}
        operation.save(update_fields=["params"])
        if guest.tenant is not None:
            quota_reserve(
                tenant=guest.tenant,
                operation=operation,
                need=Resources(
                    vcpus=max(plan.cores - guest.cores, 0),
                    memory_mb=max(plan.memory_mb - guest.memory_mb, 0),
                    disk_gb=plan.disk_gb - guest.disk_gb,
                ),
                in_use=lambda: tenant_guest_usage(tenant=guest.tenant),
            )
        audit_record(
            action="guests.resize",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk), "plan": plan.slug, **sizes},
        )
    return operation


NOTES_MAX_LENGTH = 8192  # PVE's limit on a guest's description


def guest_update(
    *,
    guest: Guest,
    actor: Principal,
    name: str | None = None,
    tags: list[str] | None = None,
    notes: str | None = None,
    idempotency_key: str = "",
) -> Operation:
    """Rename the guest, set its tags (PVE's tag syntax) or its notes; what is None stays."""
    changes: dict[str, object] = {}
    if name is not None:
        check_guest_name(name)
        changes["name"] = name
    if tags is not None:
        invalid = [tag for tag in tags if not is_valid_tag(tag)]
        if invalid:
            raise ValidationError(
                {"tags": f"not a PVE tag: {', '.join(invalid)} (letters, digits, - _ + .)"}
            )
        changes["tags"] = join_tags(tags)
    if notes is not None:
        if len(notes) > NOTES_MAX_LENGTH:
            raise ValidationError({"notes": f"at most {NOTES_MAX_LENGTH} characters"})
        changes["notes"] = notes
    if not changes:
        raise ValidationError("nothing to change: give a name, tags or notes")
    with transaction.atomic():
        require(actor, ["VM.Config.Options"], guest.acl_path)
        guest = guest_lock(guest)
        if guest.status == CREATING or guest.vanished_at is not None:
            raise ValidationError(f"guest {guest.vmid} cannot be changed now")
        refuse_if_tenant_inactive(guest, actor)
        refuse_if_busy(guest)
        operation = guest_operation_create(
            kind="guest.update",
            guest=guest,
            actor=actor,
            steps=[("guest_options", changes)],
            idempotency_key=idempotency_key,
        )
        audit_record(
            action="guests.update",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk), **changes},
        )
    return operation
