"""What each event type does. A handler takes the integration, the event's `data` and the
stored event, acts through the guest and tenancy services as the integration's principal, and
returns an Outcome; refusals are exceptions the caller turns into the stored answer."""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access.engine import require
from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_record
from apps.billing.models import BillingEvent, Customer, Integration, Service
from apps.billing.quota import quota_make_room
from apps.core.crypto import encrypt_secret
from apps.guests.models import Guest
from apps.guests.services import (
    GuestAccess,
    container_create,
    guest_create,
    guest_power,
    guest_resize,
    tenant_suspend,
    tenant_unsuspend,
)
from apps.guests.services.create import image_get, vm_template_get
from apps.guests.services.rules import guest_lock, guest_operation_create, refuse_if_busy
from apps.operations.models import Operation
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import tenant_create


class InvalidEvent(Exception):
    """The event cannot be acted on as sent (answered 400)."""


class UnknownService(Exception):
    """The event names a service or customer the portal does not know (answered 404)."""


@dataclass
class Outcome:
    service: Service | None = None
    operations: list[Operation] = field(default_factory=list)
    detail: dict = field(default_factory=dict)


def billing_actor(integration: Integration) -> Actor:
    return Actor(name=integration.name, kind=AuditEvent.ActorKind.BILLING)


def _text(data: dict, name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str | int) or str(value) == "":
        raise InvalidEvent(_("data.%(name)s is required") % {"name": name})
    return str(value)


def _service(integration: Integration, data: dict) -> Service:
    service = (
        Service.objects.select_for_update(of=("self",))
        .filter(integration=integration, external_id=_text(data, "service"))
        .select_related("customer__tenant", "guest", "plan")
        .first()
    )
    if service is None:
        raise UnknownService(_("no service '%(id)s'") % {"id": data["service"]})
    return service


def _live_service(integration: Integration, data: dict) -> Service:
    service = _service(integration, data)
    if service.state == Service.State.TERMINATED:
        raise ValidationError(_("service '%(id)s' is terminated") % {"id": service.external_id})
    return service


def _guest(service: Service) -> Guest:
    if service.guest is None:
        raise ValidationError(
            _("service '%(id)s' has no guest any more") % {"id": service.external_id}
        )
    return service.guest


def _plan(data: dict) -> Plan:
    plan = Plan.objects.filter(slug=_text(data, "plan")).first()
    if plan is None:
        raise InvalidEvent(_("no plan '%(plan)s'") % {"plan": data["plan"]})
    return plan


TENANT_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9.\-_]")


def _customer(integration: Integration, data: dict) -> Customer:
    """The customer's tenant, made (with its pool and group) the first time it is named."""
    given = data.get("customer")
    if not isinstance(given, dict):
        raise InvalidEvent(_('data.customer is required: {"id": ..., "name": ...}'))
    external_id = _text(given, "id")
    customer = Customer.objects.filter(integration=integration, external_id=external_id).first()
    if customer is not None:
        return customer
    slug = given.get("slug") or TENANT_SLUG_UNSAFE.sub("-", f"{integration.name}-{external_id}")
    tenant = tenant_create(
        slug=slug[:64],
        name=str(given.get("name") or external_id),
        limits=Resources(),
        actor=billing_actor(integration),
    )
    return Customer.objects.create(integration=integration, external_id=external_id, tenant=tenant)


def _source_kind(data: dict, integration: Integration) -> str:
    """'qemu' or 'lxc': what the template the service is made from makes (a VM template's
    VMID, or a container template's volume id). A region must name the template's cluster."""
    template = data.get("template")
    try:
        if isinstance(template, int) or (isinstance(template, str) and template.isdigit()):
            kind, cluster = Guest.Type.QEMU, vm_template_get(int(template)).cluster
        elif isinstance(template, str) and ":vztmpl/" in template:
            kind, cluster = Guest.Type.LXC, image_get(template, "vztmpl", "template").cluster
        else:
            raise InvalidEvent(
                _("data.template: a VM template's VMID or a container template's volume id")
            )
    except ValidationError as error:
        raise InvalidEvent("; ".join(error.messages)) from error
    region = data.get("region") or (
        integration.default_cluster.name if integration.default_cluster else ""
    )
    if region and cluster.name != region:
        raise InvalidEvent(
            _("template %(template)s is not in region '%(region)s'")
            % {"template": template, "region": region}
        )
    return kind


def service_create(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    external_id = _text(data, "service")
    if Service.objects.filter(integration=integration, external_id=external_id).exists():
        raise ValidationError(_("service '%(id)s' already exists") % {"id": external_id})
    plan = _plan(data)
    kind = _source_kind(data, integration)
    credentials = data.get("credentials") or {}
    access = GuestAccess(
        user=str(credentials.get("user", "")),
        password=str(credentials.get("password", "")),
        ssh_keys=str(credentials.get("ssh_keys", "")),
    )
    customer = _customer(integration, data)
    tenant = customer.tenant
    quota_make_room(
        tenant=tenant,
        # What the plan sells with the guest: its snapshots, and room for its backups (each at
        # most the disk's size).
        need=Resources(
            guests=1,
            vcpus=plan.cores,
            memory_mb=plan.memory_mb,
            disk_gb=plan.disk_gb,
            snapshots=plan.snapshots,
            backup_gb=plan.backups * plan.disk_gb,
        ),
        actor=billing_actor(integration),
    )
    create = guest_create if kind == Guest.Type.QEMU else container_create
    source = {"template_vmid": int(data["template"])} if kind == Guest.Type.QEMU else {}
    operation = create(
        tenant=tenant,
        plan=plan,
        name=_text(data, "hostname"),
        actor=integration.principal,
        access=access,
        # A second line of defence: the same event can never start two creates.
        idempotency_key=f"billing-event-{event.pk}",
        **(source or {"ostemplate": data["template"]}),
    )
    service = Service.objects.create(
        integration=integration,
        external_id=external_id,
        customer=customer,
        guest=operation.guest,
        vmid=operation.guest.vmid,
        plan=plan,
    )
    return Outcome(service=service, operations=[operation])


def _stop_if_running(service: Service, integration: Integration) -> list[Operation]:
    guest = service.guest
    if guest is None or guest.status != "running":
        return []
    return [guest_power(guest=guest, action="stop", actor=integration.principal)]


def _suspend_tenant(tenant: Tenant, integration: Integration) -> list[Operation]:
    if tenant.status != Tenant.Status.ACTIVE:
        return []
    return tenant_suspend(tenant=tenant, actor=integration.principal)


def service_suspend(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    """A service: its guest stops; once none of the tenant's services is active, the tenant is
    suspended (its portal read-only). A customer: the whole tenant at once. Data is kept."""
    if "customer" in data and "service" not in data:
        customer = _known_customer(integration, data)
        customer.services.filter(state=Service.State.ACTIVE).update(state=Service.State.SUSPENDED)
        return Outcome(operations=_suspend_tenant(customer.tenant, integration))
    service = _live_service(integration, data)
    if service.state != Service.State.ACTIVE:
        return Outcome(
            service=service, detail={"note": _("already %(state)s") % {"state": service.state}}
        )
    service.state = Service.State.SUSPENDED
    service.save(update_fields=["state"])
    # Read-only on its own too: the tenant may stay active for its other services.
    Guest.objects.filter(pk=service.guest_id).update(suspended=True)
    tenant = service.customer.tenant
    others_active = Service.objects.filter(
        customer__tenant=tenant, state=Service.State.ACTIVE
    ).exists()
    operations = (
        _stop_if_running(service, integration)
        if others_active
        else _suspend_tenant(tenant, integration)
    )
    return Outcome(service=service, operations=operations)


def _known_customer(integration: Integration, data: dict) -> Customer:
    external_id = _text(data, "customer")
    customer = (
        Customer.objects.filter(integration=integration, external_id=external_id)
        .select_related("tenant")
        .first()
    )
    if customer is None:
        raise UnknownService(_("no customer '%(id)s'") % {"id": external_id})
    return customer


def _unsuspend_tenant(tenant: Tenant, integration: Integration) -> None:
    tenant.refresh_from_db(fields=["status"])
    if tenant.status == Tenant.Status.SUSPENDED:
        tenant_unsuspend(tenant=tenant, actor=integration.principal)


def service_unsuspend(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    """The tenant gets its portal back; guests stay stopped until their owner starts them."""
    if "customer" in data and "service" not in data:
        customer = _known_customer(integration, data)
        suspended = customer.services.filter(state=Service.State.SUSPENDED)
        Guest.objects.filter(pk__in=suspended.values("guest_id")).update(suspended=False)
        suspended.update(state=Service.State.ACTIVE)
        _unsuspend_tenant(customer.tenant, integration)
        return Outcome()
    service = _live_service(integration, data)
    if service.state == Service.State.SUSPENDED:
        service.state = Service.State.ACTIVE
        service.save(update_fields=["state"])
        Guest.objects.filter(pk=service.guest_id).update(suspended=False)
    _unsuspend_tenant(service.customer.tenant, integration)
    return Outcome(service=service)


def service_terminate(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    """The guest stops now and is deleted once the grace period is over (`terminate_due`),
    unless a renewal comes first. Its backups outlive it."""
    service = _service(integration, data)
    if service.state in (Service.State.TERMINATING, Service.State.TERMINATED):
        return Outcome(service=service, detail=_termination_detail(service))
    service.state = Service.State.TERMINATING
    service.terminate_at = timezone.now() + datetime.timedelta(
        hours=settings.BILLING_TERMINATION_GRACE_HOURS
    )
    service.save(update_fields=["state", "terminate_at"])
    operations = _stop_if_running(service, integration)
    return Outcome(service=service, operations=operations, detail=_termination_detail(service))


def _termination_detail(service: Service) -> dict:
    at = service.terminate_at
    return {"terminate_at": at.isoformat() if at else None}


def service_renew(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    """Records the paid-until date; a pending termination is called off."""
    service = _live_service(integration, data)
    try:
        paid_until = datetime.date.fromisoformat(_text(data, "paid_until"))
    except ValueError as error:
        raise InvalidEvent(_("data.paid_until: a date, YYYY-MM-DD")) from error
    service.paid_until = paid_until
    if service.state == Service.State.TERMINATING:
        service.state = Service.State.ACTIVE
        service.terminate_at = None
    service.save(update_fields=["paid_until", "state", "terminate_at"])
    return Outcome(service=service, detail={"paid_until": paid_until.isoformat()})


def service_change_package(*, integration: Integration, data: dict, event: BillingEvent) -> Outcome:
    """Resize to the new plan; a smaller disk is refused (PVE cannot shrink disks)."""
    service = _live_service(integration, data)
    guest = _guest(service)
    plan = _plan(data)
    quota_make_room(
        tenant=service.customer.tenant,
        need=Resources(
            vcpus=max(plan.cores - guest.cores, 0),
            memory_mb=max(plan.memory_mb - guest.memory_mb, 0),
            disk_gb=max(plan.disk_gb - guest.disk_gb, 0),
        ),
        actor=billing_actor(integration),
    )
    operation = guest_resize(guest=guest, plan=plan, actor=integration.principal)
    service.plan = plan
    service.save(update_fields=["plan"])
    return Outcome(service=service, operations=[operation])


def service_change_password(
    *, integration: Integration, data: dict, event: BillingEvent
) -> Outcome:
    """VMs: cloud-init's password (cipassword) is always set, so a reboot or reinstall keeps
    it; then, if the VM runs and its QEMU guest agent answers, the agent sets it at once (for the
    VM's cloud-init user; without one `data.username`, else root). Otherwise it takes effect at
    the VM's next boot; the operation's log says which. The VM is never rebooted for it.
    Containers: PVE's API has no way to set a password inside a container; that is refused."""
    service = _live_service(integration, data)
    guest = _guest(service)
    password = _text(data, "password")
    if guest.type != Guest.Type.QEMU:
        raise InvalidEvent(
            _(
                "service.change_password is supported for VMs only (cloud-init or the QEMU guest "
                "agent): PVE's API cannot set a container's password; its owner changes it on "
                "the console"
            )
        )
    username = str(data.get("username") or "")
    GuestAccess(user=username, password=password).check(guest.type)
    principal = integration.principal
    require(principal, ["VM.Config.Cloudinit", "VM.GuestAgent.Unrestricted"], guest.acl_path)
    guest = guest_lock(guest)
    refuse_if_busy(guest)
    password_encrypted = encrypt_secret(password)
    # Only the password: the VM's addresses, user and keys stay as they are.
    steps: list[tuple[str, dict]] = [
        ("guest_configure", {"password_encrypted": password_encrypted}),
        ("guest_agent_password", {"password_encrypted": password_encrypted, "username": username}),
    ]
    operation = guest_operation_create(
        kind="guest.password", guest=guest, actor=principal, steps=steps
    )
    audit_record(
        action="guests.password",
        actor=billing_actor(integration),
        target=guest.acl_path,
        detail={"operation": str(operation.pk)},
    )
    return Outcome(service=service, operations=[operation])


Handler = Callable[..., Outcome]

HANDLERS: dict[str, Handler] = {
    "service.create": service_create,
    "service.suspend": service_suspend,
    "service.unsuspend": service_unsuspend,
    "service.terminate": service_terminate,
    "service.renew": service_renew,
    "service.change_package": service_change_package,
    "service.change_password": service_change_password,
}
