"""Reinstalling a guest: same VMID, owner, sizes and addresses in the portal; a fresh system
from a template. What was on its disks is gone."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.engine import Principal, audit_actor, require
from apps.audit.services import audit_record
from apps.guests.models import CREATING, Guest, Image
from apps.guests.services.create import (
    clone_steps,
    container_steps,
    image_get,
    vm_template_get,
)
from apps.guests.services.rules import (
    GuestAccess,
    check_plan_offers,
    guest_lock,
    guest_operation_create,
    refuse_if_busy,
    refuse_if_tenant_inactive,
)
from apps.operations.models import Operation


def _install_steps(
    guest: Guest, template_vmid: int | None, ostemplate: str | None, access: GuestAccess
) -> tuple[list[tuple[str, dict]], dict[str, object]]:
    """The steps that rebuild the guest, and what the audit event records of the source."""
    if guest.type == Guest.Type.QEMU:
        if template_vmid is None:
            raise ValidationError({"template": "a VM is reinstalled from a VM template"})
        template = vm_template_get(template_vmid)
        if template.cluster_id != guest.cluster_id:
            raise ValidationError({"template": "the template is on another cluster"})
        if guest.plan is not None:
            check_plan_offers(
                plan=guest.plan,
                cluster=guest.cluster,
                source=template.name,
                source_field="template",
            )
        steps = clone_steps(template, access)
        steps[0][1]["keep_vmid"] = True
        return steps, {"template": template.vmid}
    if not ostemplate:
        raise ValidationError({"ostemplate": "a container is reinstalled from a CT template"})
    image = image_get(ostemplate, Image.Content.VZTMPL, "ostemplate")
    if image.cluster_id != guest.cluster_id:
        raise ValidationError({"ostemplate": "the template is on another cluster"})
    if guest.plan is not None:
        check_plan_offers(
            plan=guest.plan,
            cluster=guest.cluster,
            source=image.file_name,
            source_field="ostemplate",
        )
    return container_steps(ostemplate, access), {"ostemplate": ostemplate}


def guest_reinstall(
    *,
    guest: Guest,
    actor: Principal,
    template_vmid: int | None = None,
    ostemplate: str | None = None,
    access: GuestAccess | None = None,
    idempotency_key: str = "",
) -> Operation:
    """Stop and destroy the guest on PVE, then make it again under the same VMID from a VM
    template (a VM) or a CT template (a container), and start it. Its sizes stay, so its quota
    use does not change."""
    access = access or GuestAccess()
    access.check(guest.type)
    steps, source = _install_steps(guest, template_vmid, ostemplate, access)
    with transaction.atomic():
        # Destroying and allocating both: what PVE asks for the same pair of actions.
        require(actor, ["VM.Allocate"], guest.acl_path)
        guest = guest_lock(guest)
        if guest.status == CREATING or guest.vanished_at is not None or guest.template:
            raise ValidationError(f"guest {guest.vmid} cannot be reinstalled now")
        refuse_if_tenant_inactive(guest, actor)
        refuse_if_busy(guest)
        stop = [] if guest.status == "stopped" else [("guest_power", {"action": "stop"})]
        operation = guest_operation_create(
            kind="guest.reinstall",
            guest=guest,
            actor=actor,
            steps=[
                *stop,
                ("guest_destroy", {}),
                *steps,
                ("guest_power", {"action": "start"}),
            ],
            idempotency_key=idempotency_key,
        )
        audit_record(
            action="guests.reinstall",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk), **source},
        )
    return operation
