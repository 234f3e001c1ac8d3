"""Reads of guests, scoped by what the actor may see (VM.Audit)."""

import math

from django.db.models import Count, QuerySet, Sum
from django.http import Http404

from apps.access.engine import Principal, filter_by_vmid
from apps.backups.models import Backup
from apps.clusters.models import Cluster
from apps.clusters.placement import NoCapacity
from apps.guests.models import CREATING, Guest, Image, Snapshot
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources


def guest_list(*, actor: Principal) -> QuerySet[Guest]:
    return filter_by_vmid(
        Guest.objects.select_related("cluster", "tenant").filter(template=False),
        actor,
        privilege="VM.Audit",
    )


def guest_get(*, actor: Principal, vmid: int) -> Guest:
    """A guest the actor may not see is as missing as one that does not exist."""
    guest = guest_list(actor=actor).filter(vmid=vmid).first()
    if guest is None:
        raise Http404("no such guest")
    return guest


def tenant_guest_usage(*, tenant: Tenant) -> Resources:
    """What a tenant's live guests (and their snapshots) count against its quota. Guests still
    being created are counted by their operation's reservation instead."""
    guests = Guest.objects.filter(tenant=tenant, vanished_at__isnull=True, template=False).exclude(
        status=CREATING
    )
    totals = guests.aggregate(
        count=Count("pk"), vcpus=Sum("cores"), memory_mb=Sum("memory_mb"), disk_gb=Sum("disk_gb")
    )
    return Resources(
        guests=totals["count"],
        vcpus=totals["vcpus"] or 0,
        memory_mb=totals["memory_mb"] or 0,
        disk_gb=totals["disk_gb"] or 0,
        # The snapshots of those guests, as last seen on PVE (services/snapshots.py).
        snapshots=Snapshot.objects.filter(guest__in=guests).count(),
        # The tenant's backups PVE still lists (apps/backups), those of deleted guests too, in
        # GiB rounded up.
        backup_gb=math.ceil(
            (
                Backup.objects.filter(tenant=tenant, vanished_at__isnull=True).aggregate(
                    size=Sum("size")
                )["size"]
                or 0
            )
            / 1024**3
        ),
    )


def vmid_candidate(*, cluster: Cluster, taken: frozenset[int] = frozenset()) -> int:
    """The lowest VMID of the cluster's range used by no guest of any cluster, nor by kept
    backups (PVE names backup volumes by VMID alone: a new guest with the id of a deleted one
    would be taken for the owner of its backups), nor in `taken` (ids PVE reported as existing)."""
    in_range = {"vmid__gte": cluster.vmid_range_start, "vmid__lte": cluster.vmid_range_end}
    used = (
        set(Guest.objects.filter(**in_range).values_list("vmid", flat=True))
        | set(
            Backup.objects.filter(vanished_at__isnull=True, **in_range).values_list(
                "vmid", flat=True
            )
        )
        | set(taken)
    )
    # The lowest gap is at most one past the number of ids in use.
    for vmid in range(cluster.vmid_range_start, cluster.vmid_range_start + len(used) + 1):
        if vmid not in used and vmid <= cluster.vmid_range_end:
            return vmid
    raise NoCapacity(
        f"no free VMID left in {cluster.name}'s range "
        f"{cluster.vmid_range_start}-{cluster.vmid_range_end}"
    )


def template_list(*, plan: Plan | None = None) -> QuerySet[Guest]:
    """The VM template catalogue: every cluster's, or what `plan` offers."""
    templates = Guest.objects.select_related("cluster").filter(
        template=True, vanished_at__isnull=True
    )
    if plan is None:
        return templates
    if plan.clusters.exists():
        templates = templates.filter(cluster__in=plan.clusters.all())
    offered = [
        t.pk
        for t in templates.select_related(None).only("pk", "name")
        if plan.offers_template(t.name)
    ]
    return templates.filter(pk__in=offered)


def image_list(*, plan: Plan | None = None) -> QuerySet[Image]:
    """ISO images and CT templates: every cluster's, or what `plan` offers."""
    images = Image.objects.select_related("cluster")
    if plan is None:
        return images
    if plan.clusters.exists():
        images = images.filter(cluster__in=plan.clusters.all())
    offered = [
        i.pk
        for i in images.select_related(None).only("pk", "volid")
        if plan.offers_template(i.file_name)
    ]
    return images.filter(pk__in=offered)


def plans_on_offer(*, cluster: Cluster) -> list[Plan]:
    """The active plans a guest on `cluster` may have (no clusters named: every cluster),
    smallest first."""
    plans = Plan.objects.filter(active=True).prefetch_related("clusters")
    return sorted(
        (p for p in plans if not p.clusters.all() or cluster in p.clusters.all()),
        key=lambda p: (p.disk_gb, p.cores, p.memory_mb, p.name),
    )
