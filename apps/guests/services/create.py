"""Creating guests: VMs cloned from templates or installed from an ISO, containers from CT
templates. Each is one transaction: checks, a VMID, the guest row, the operation and the quota
reservation."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.engine import Principal, audit_actor, require
from apps.access.services import pool_set_guest
from apps.audit.services import audit_record
from apps.clusters.models import Cluster, Node
from apps.clusters.placement import NoCapacity
from apps.guests.models import CREATING, Guest, Image
from apps.guests.selectors import tenant_guest_usage, vmid_candidate
from apps.guests.services.rules import (
    GuestAccess,
    check_guest_name,
    check_plan_offers,
)
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_reserve


def create_operation(
    *,
    tenant: Tenant,
    plan: Plan,
    cluster: Cluster,
    guest_type: str,
    name: str,
    actor: Principal,
    build_steps: list[tuple[str, dict]],
    detail: dict[str, object],
    idempotency_key: str,
    node: str = "",
    sizes: Resources | None = None,
) -> Operation:
    """What every create shares, in one transaction: the privilege check, a VMID no cluster
    uses, the guest row (`creating`), the operation and the quota reservation. `node` pins the
    guest to a node instead of letting placement choose (operators: Sys.Modify on the node).
    The guest takes the plan's sizes unless `sizes` says otherwise (a restore's)."""
    sizes = sizes or Resources(vcpus=plan.cores, memory_mb=plan.memory_mb, disk_gb=plan.disk_gb)
    if node:
        build_steps = _pinned(build_steps, cluster=cluster, node=node, actor=actor)
    with transaction.atomic():
        require(actor, ["VM.Allocate"], f"/pool/{tenant.slug}")
        if tenant.status != Tenant.Status.ACTIVE:
            raise ValidationError(f"tenant '{tenant.slug}' is {tenant.status}")
        # Serializes with the cluster's guest sync, which also inserts guests by VMID. NO KEY
        # UPDATE: rows that merely reference the cluster (operations, snapshots) are not held up,
        # which a plain FOR UPDATE would do, deadlocking with their quota locks.
        Cluster.objects.select_for_update(no_key=True).get(pk=cluster.pk)
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
            plan=plan,
            pool=tenant.slug,
            cores=sizes.vcpus,
            memory_mb=sizes.memory_mb,
            disk_gb=sizes.disk_gb,
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
            idempotency_key=idempotency_key,
        )
        quota_reserve(
            tenant=tenant,
            operation=operation,
            need=Resources(
                guests=1, vcpus=sizes.vcpus, memory_mb=sizes.memory_mb, disk_gb=sizes.disk_gb
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


PLACING_STEPS = ("guest_clone", "vm_create", "container_create")


def _pinned(
    build_steps: list[tuple[str, dict]], *, cluster: Cluster, node: str, actor: Principal
) -> list[tuple[str, dict]]:
    require(actor, ["Sys.Modify"], f"/nodes/{node}")
    if not Node.objects.filter(cluster=cluster, name=node, vanished_at__isnull=True).exists():
        raise ValidationError({"node": f"cluster '{cluster.name}' has no node '{node}'"})
    return [
        (name, {**params, "node": node}) if name in PLACING_STEPS else (name, params)
        for name, params in build_steps
    ]


def vm_template_get(vmid: int) -> Guest:
    template = (
        Guest.objects.filter(vmid=vmid, template=True, vanished_at__isnull=True)
        .select_related("cluster")
        .first()
    )
    if template is None or template.type != Guest.Type.QEMU:
        raise ValidationError({"template": f"no VM template with VMID {vmid}"})
    return template


def image_get(volid: str, content: str, field: str, cluster: Cluster | None = None) -> Image:
    """An image by volume id (any node that has it: the step places the guest), on `cluster`
    when the same file is on several."""
    images = Image.objects.filter(volid=volid, content=content)
    if cluster is not None:
        images = images.filter(cluster=cluster)
    image = images.select_related("cluster").first()
    if image is None:
        label = Image.Content(content).label.lower()
        raise ValidationError({field: f"no {label} '{volid}'"})
    return image


def clone_steps(template: Guest, access: GuestAccess) -> list[tuple[str, dict]]:
    """Clone, then cloud-init (user, password, keys, addresses), then the plan's disk size."""
    return [
        ("guest_clone", {"template_vmid": template.vmid}),
        ("guest_configure", access.cloud_init()),
        ("guest_grow_disk", {}),
    ]


def guest_create(
    *,
    tenant: Tenant,
    plan: Plan,
    template_vmid: int,
    name: str,
    actor: Principal,
    access: GuestAccess | None = None,
    idempotency_key: str = "",
    node: str = "",
) -> Operation:
    """A VM cloned from a template, sized by the plan, configured by cloud-init and started.
    The worker places it, clones, configures, grows the disk and starts it."""
    access = access or GuestAccess()
    check_guest_name(name)
    access.check(Guest.Type.QEMU)
    template = vm_template_get(template_vmid)
    check_plan_offers(
        plan=plan, cluster=template.cluster, source=template.name, source_field="template"
    )
    return create_operation(
        tenant=tenant,
        plan=plan,
        cluster=template.cluster,
        guest_type=Guest.Type.QEMU,
        name=name,
        actor=actor,
        detail={"template": template.vmid},
        build_steps=clone_steps(template, access),
        idempotency_key=idempotency_key,
        node=node,
    )


def vm_create_from_iso(
    *,
    tenant: Tenant,
    plan: Plan,
    iso: str,
    name: str,
    actor: Principal,
    idempotency_key: str = "",
    node: str = "",
    cluster: Cluster | None = None,
) -> Operation:
    """An empty VM sized by the plan with the ISO in its CD drive, booting from it first, so
    its owner installs the system on the console. `cluster` picks the region when the ISO is
    on several."""
    check_guest_name(name)
    image = image_get(iso, Image.Content.ISO, "iso", cluster)
    check_plan_offers(plan=plan, cluster=image.cluster, source=image.file_name, source_field="iso")
    return create_operation(
        tenant=tenant,
        plan=plan,
        cluster=image.cluster,
        guest_type=Guest.Type.QEMU,
        name=name,
        actor=actor,
        detail={"iso": iso},
        build_steps=[("vm_create", {"iso": iso})],
        idempotency_key=idempotency_key,
        node=node,
    )


def container_steps(ostemplate: str, access: GuestAccess) -> list[tuple[str, dict]]:
    return [("container_create", {"ostemplate": ostemplate, **access.container()})]


def container_create(
    *,
    tenant: Tenant,
    plan: Plan,
    ostemplate: str,
    name: str,
    actor: Principal,
    access: GuestAccess | None = None,
    idempotency_key: str = "",
    node: str = "",
    cluster: Cluster | None = None,
) -> Operation:
    """A container from a template image (vztmpl), sized by the plan and started. `cluster`
    picks the region when the template is on several."""
    access = access or GuestAccess()
    check_guest_name(name)
    access.check(Guest.Type.LXC)
    image = image_get(ostemplate, Image.Content.VZTMPL, "ostemplate", cluster)
    check_plan_offers(
        plan=plan,
        cluster=image.cluster,
        source=image.file_name,
        source_field="ostemplate",
    )
    return create_operation(
        tenant=tenant,
        plan=plan,
        cluster=image.cluster,
        guest_type=Guest.Type.LXC,
        name=name,
        actor=actor,
        detail={"ostemplate": ostemplate},
        build_steps=container_steps(ostemplate, access),
        idempotency_key=idempotency_key,
        node=node,
    )


def guest_copy(
    *,
    source: Guest,
    name: str,
    actor: Principal,
    plan: Plan | None = None,
    access: GuestAccess | None = None,
    idempotency_key: str = "",
) -> Operation:
    """A new guest of the same tenant, a full copy of `source`'s disks, sized by `plan` (the
    source's plan when none is named; the disk only grows) and counted like any create."""
    access = access or GuestAccess()
    check_guest_name(name)
    access.check(source.type)
    plan = plan or source.plan
    if plan is None:
        raise ValidationError({"plan": "the guest has no plan: name the plan for the copy"})
    if source.tenant is None or source.template or source.vanished_at is not None:
        raise ValidationError(f"guest {source.vmid} cannot be copied")
    if plan.disk_gb < source.disk_gb:
        raise ValidationError(
            {
                "plan": f"plan '{plan.slug}' has a {plan.disk_gb} GiB disk; the copy needs "
                f"{source.disk_gb} GiB"
            }
        )
    if source.type == Guest.Type.LXC and source.status != "stopped":
        raise ValidationError(f"container {source.vmid} must be stopped to be copied")
    check_plan_offers(plan=plan, cluster=source.cluster, source=None, source_field="plan")
    require(actor, ["VM.Clone"], source.acl_path)
    configure = access.cloud_init() if source.type == Guest.Type.QEMU else {}
    build_steps = [
        ("guest_clone", {"template_vmid": source.vmid}),
        ("guest_configure", configure),  # also the plan's cores and memory
        ("guest_grow_disk", {}),
    ]
    return create_operation(
        tenant=source.tenant,
        plan=plan,
        cluster=source.cluster,
        guest_type=source.type,
        name=name,
        actor=actor,
        detail={"copy_of": source.vmid},
        build_steps=build_steps,
        idempotency_key=idempotency_key,
    )
