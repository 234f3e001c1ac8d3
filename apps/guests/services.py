"""Guest inventory and lifecycle actions."""

import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, require
from apps.access.services import pool_set_guest
from apps.audit.services import SYSTEM, audit_record
from apps.clusters.models import Cluster, Storage
from apps.clusters.placement import NoCapacity
from apps.clusters.services import client_for
from apps.guests.models import CREATING, Guest, Image
from apps.guests.selectors import tenant_guest_usage, vmid_candidate
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.proxmox import inventory
from apps.proxmox.guests import POWER_ACTIONS
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_reserve

MIB, GIB = 1024**2, 1024**3


@dataclass
class GuestSyncReport:
    added: list[int] = field(default_factory=list)
    adopted: list[int] = field(default_factory=list)
    vanished: list[int] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    pool_mismatches: list[int] = field(default_factory=list)


def guests_sync(*, cluster: Cluster) -> GuestSyncReport:
    """Mirror PVE's guests: new ones in a tenant's pool are adopted by that tenant (audited);
    gone ones are flagged as vanished, never deleted; a VMID already known on another cluster,
    and a tenant's guest found in another pool, are reported for an operator."""
    found = inventory.guests_list(client_for(cluster))
    tenants_by_pool = {tenant.slug: tenant for tenant in Tenant.objects.all()}
    now = timezone.now()
    report = GuestSyncReport()
    with transaction.atomic():
        # One sync per cluster at a time, and none while a create takes a VMID there.
        Cluster.objects.select_for_update().get(pk=cluster.pk)
        known = {
            guest.vmid: guest
            for guest in Guest.objects.select_for_update().filter(vmid__in=[g.vmid for g in found])
        }
        for info in found:
            guest = known.get(info.vmid)
            if guest is not None and guest.cluster_id != cluster.pk:
                report.conflicts.append(info.vmid)
                continue
            if guest is not None and guest.status == CREATING:
                continue  # its create operation owns the row until it ends
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
        )
        report.vanished = sorted(vanished.values_list("vmid", flat=True))
        vanished.update(vanished_at=now, status="unknown")
    return report


def _refuse_if_tenant_inactive(guest: Guest, actor: Principal) -> None:
    """A suspended tenant's guests are read-only for its users; operators still act on them."""
    owner = getattr(actor, "user", actor)
    tenant = guest.tenant
    if tenant is not None and tenant.status != Tenant.Status.ACTIVE and not owner.is_superuser:
        raise ValidationError(
            f"tenant '{tenant.slug}' is {tenant.status}: its guests are read-only"
        )


def tenant_suspend(*, tenant: Tenant, actor: Principal) -> list[Operation]:
    """Suspend a tenant: its running guests are stopped (data kept) and its users can no longer
    change anything. Returns the stop operations."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status != Tenant.Status.ACTIVE:
            raise ValidationError(f"tenant '{tenant.slug}' is {tenant.status}")
        tenant.status = Tenant.Status.SUSPENDED
        tenant.save(update_fields=["status"])
        audit_record(
            action="tenancy.tenant_suspended", actor=audit_actor(actor), target=tenant.slug
        )
        running = Guest.objects.filter(
            tenant=tenant, status="running", template=False, vanished_at__isnull=True
        )
        return [guest_power(guest=guest, action="stop", actor=actor) for guest in running]


def tenant_unsuspend(*, tenant: Tenant, actor: Principal) -> None:
    """Give the tenant its guests back; they stay stopped until someone starts them."""
    with transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if tenant.status != Tenant.Status.SUSPENDED:
            raise ValidationError(f"tenant '{tenant.slug}' is {tenant.status}, not suspended")
        tenant.status = Tenant.Status.ACTIVE
        tenant.save(update_fields=["status"])
        audit_record(
            action="tenancy.tenant_unsuspended", actor=audit_actor(actor), target=tenant.slug
        )


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
        _refuse_if_tenant_inactive(guest, actor)
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


GUEST_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")


def _check_new_guest(*, name: str, plan: Plan) -> None:
    if not GUEST_NAME.match(name):
        raise ValidationError(
            {"name": "a guest name is a DNS label: letters, digits and '-', at most 63"}
        )
    if not plan.active:
        raise ValidationError({"plan": f"plan '{plan.slug}' is no longer offered"})


def _create_operation(
    *,
    tenant: Tenant,
    plan: Plan,
    cluster: Cluster,
    guest_type: str,
    name: str,
    actor: Principal,
    build_steps: list[tuple[str, dict]],
    detail: dict[str, object],
) -> Operation:
    """What every create shares, in one transaction: the privilege check, a VMID no cluster
    uses, the guest row (`creating`), the operation and the quota reservation."""
    with transaction.atomic():
        require(actor, ["VM.Allocate"], f"/pool/{tenant.slug}")
        if tenant.status != Tenant.Status.ACTIVE:
            raise ValidationError(f"tenant '{tenant.slug}' is {tenant.status}")
        # Serializes with the cluster's guest sync, which also inserts guests by VMID.
        Cluster.objects.select_for_update().get(pk=cluster.pk)
        try:
            vmid = vmid_candidate(cluster=cluster)
        except NoCapacity as error:
            raise ValidationError(str(error)) from error
        guest = Guest.objects.create(
            vmid=vmid,
            cluster=cluster,
            node="",
            type=guest_type,
            name=name,
            status=CREATING,
            tenant=tenant,
            pool=tenant.slug,
            cores=plan.cores,
            memory_mb=plan.memory_mb,
            disk_gb=plan.disk_gb,
        )
        pool_set_guest(vmid=vmid, pool_name=tenant.slug)
        operation = operation_create(
            kind="guest.create",
            cluster=cluster,
            guest=guest,
            tenant=tenant,
            target=guest.acl_path,
            actor=audit_actor(actor),
            steps=[
                ("tenant_pool", {"pool": tenant.slug, "comment": tenant.name}),
                *build_steps,
                ("guest_power", {"action": "start"}),
            ],
        )
        quota_reserve(
            tenant=tenant,
            operation=operation,
            need=Resources(
                guests=1, vcpus=plan.cores, memory_mb=plan.memory_mb, disk_gb=plan.disk_gb
            ),
            in_use=lambda: tenant_guest_usage(tenant=tenant),
        )
        audit_record(
            action="guests.create",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk), "plan": plan.slug, **detail},
        )
    return operation


def guest_create(
    *,
    tenant: Tenant,
    plan: Plan,
    template_vmid: int,
    name: str,
    actor: Principal,
    ssh_keys: str = "",
    user: str = "",
) -> Operation:
    """A VM cloned from a template, sized by the plan, configured by cloud-init and started.
    The worker places it, clones, configures, grows the disk and starts it."""
    _check_new_guest(name=name, plan=plan)
    template = (
        Guest.objects.filter(vmid=template_vmid, template=True, vanished_at__isnull=True)
        .select_related("cluster")
        .first()
    )
    if template is None:
        raise ValidationError({"template": f"no template with VMID {template_vmid}"})
    return _create_operation(
        tenant=tenant,
        plan=plan,
        cluster=template.cluster,
        guest_type=template.type,
        name=name,
        actor=actor,
        detail={"template": template.vmid},
        build_steps=[
            ("guest_clone", {"template_vmid": template.vmid}),
            ("guest_configure", {"ssh_keys": ssh_keys, "user": user, "cloud_init_network": True}),
            ("guest_grow_disk", {}),
        ],
    )


def guest_delete(*, guest: Guest, actor: Principal) -> Operation:
    """Stop the guest if it runs, then destroy it with its disks (purge)."""
    with transaction.atomic():
        require(actor, ["VM.Allocate"], guest.acl_path)
        guest = Guest.objects.select_for_update().get(pk=guest.pk)
        if guest.status == CREATING:
            raise ValidationError(f"guest {guest.vmid} is still being created")
        _refuse_if_tenant_inactive(guest, actor)
        if (
            guest.operations.filter(kind="guest.delete")
            .exclude(state__in=Operation.TERMINAL_STATES)
            .exists()
        ):
            raise ValidationError(f"guest {guest.vmid} is already being deleted")
        steps: list[tuple[str, dict]] = []
        if guest.status != "stopped":
            steps.append(("guest_power", {"action": "stop"}))
        steps.append(("guest_destroy", {}))
        operation = operation_create(
            kind="guest.delete",
            cluster=guest.cluster,
            guest=guest,
            tenant=guest.tenant,
            target=guest.acl_path,
            actor=audit_actor(actor),
            steps=steps,
        )
        audit_record(
            action="guests.delete",
            actor=audit_actor(actor),
            target=guest.acl_path,
            detail={"operation": str(operation.pk)},
        )
    return operation


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
        Image.objects.filter(cluster=cluster).delete()
        Image.objects.bulk_create(found)
    return len(found)


def container_create(
    *,
    tenant: Tenant,
    plan: Plan,
    ostemplate: str,
    name: str,
    actor: Principal,
    ssh_keys: str = "",
    password: str = "",
) -> Operation:
    """A container from a template image (vztmpl), sized by the plan and started."""
    _check_new_guest(name=name, plan=plan)
    if password and len(password) < 5:
        raise ValidationError({"password": "at least 5 characters (PVE's rule)"})
    image = (
        Image.objects.filter(volid=ostemplate, content=Image.Content.VZTMPL)
        .select_related("cluster")
        .first()
    )
    if image is None:
        raise ValidationError({"ostemplate": f"no container template '{ostemplate}'"})
    return _create_operation(
        tenant=tenant,
        plan=plan,
        cluster=image.cluster,
        guest_type=Guest.Type.LXC,
        name=name,
        actor=actor,
        detail={"ostemplate": ostemplate},
        build_steps=[
            (
                "container_create",
                {"ostemplate": ostemplate, "ssh_keys": ssh_keys, "password": password},
            )
        ],
    )


def guest_resize(*, guest: Guest, plan: Plan, actor: Principal) -> Operation:
    """Move a guest to another plan: cores and memory up or down, the disk only up (PVE cannot
    shrink disks). What grows is reserved against the quota with the operation."""
    with transaction.atomic():
        require(actor, ["VM.Config.CPU", "VM.Config.Memory", "VM.Config.Disk"], guest.acl_path)
        guest = Guest.objects.select_for_update().get(pk=guest.pk)
        if guest.status == CREATING or guest.vanished_at is not None:
            raise ValidationError(f"guest {guest.vmid} cannot be resized now")
        _refuse_if_tenant_inactive(guest, actor)
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
        operation = operation_create(
            kind="guest.resize",
            cluster=guest.cluster,
            guest=guest,
            tenant=guest.tenant,
            target=guest.acl_path,
            actor=audit_actor(actor),
            steps=[("guest_configure", sizes), ("guest_grow_disk", sizes)],
        )
        operation.params["resize"] = sizes
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
