"""Tenants with their quota use, plans, and the template catalogue per cluster.

Use is counted as `tenant_usage` counts it (live guests and their snapshots plus open
reservations), but grouped by tenant for a whole page at once instead of per tenant."""

from collections import defaultdict

from django.db.models import Count, Q, QuerySet, Sum

from apps.clusters.models import Cluster
from apps.guests.models import CREATING, Guest, Image, Snapshot
from apps.guests.selectors import image_list, template_list
from apps.tenancy.models import Plan, Reservation, Tenant
from apps.web.selectors import SHOWN, UsageRow

# Named apart from the models' fields, which an annotation may not shadow.
GUEST_SUMS = {
    "sum_guests": Count("pk"),
    "sum_vcpus": Sum("cores"),
    "sum_memory_mb": Sum("memory_mb"),
    "sum_disk_gb": Sum("disk_gb"),
}


def tenant_list(*, status: str = "") -> QuerySet[Tenant]:
    tenants = Tenant.objects.select_related("quota").order_by("slug")
    return tenants.filter(status=status) if status else tenants


def _live_guests(tenant_ids: list[int]) -> QuerySet[Guest]:
    return Guest.objects.filter(
        tenant_id__in=tenant_ids, vanished_at__isnull=True, template=False
    ).exclude(status=CREATING)


def tenants_usage(*, tenants: list[Tenant]) -> dict[int, list[UsageRow]]:
    """Each tenant's quota rows (SHOWN: guests, vCPUs, memory, disk, snapshots), in four
    queries for any number of tenants."""
    ids = [tenant.pk for tenant in tenants]
    used: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in _live_guests(ids).order_by().values("tenant_id").annotate(**GUEST_SUMS):
        for name in GUEST_SUMS:
            used[row["tenant_id"]][name.removeprefix("sum_")] += row[name] or 0
    snapshots = (
        Snapshot.objects.filter(guest__in=_live_guests(ids))
        .order_by()
        .values("guest__tenant_id")
        .annotate(count=Count("pk"))
    )
    for row in snapshots:
        used[row["guest__tenant_id"]]["snapshots"] += row["count"]
    held = (
        Reservation.objects.filter(tenant_id__in=ids, released_at__isnull=True)
        .order_by()
        .values("tenant_id")
        .annotate(**{f"sum_{name}": Sum(name) for name, _label, _unit in SHOWN})
    )
    for row in held:
        for name, _label, _unit in SHOWN:
            used[row["tenant_id"]][name] += row[f"sum_{name}"] or 0
    return {
        tenant.pk: [
            UsageRow(
                name=name,
                label=str(label),
                unit=unit,
                used=used[tenant.pk][name],
                limit=getattr(getattr(tenant, "quota", None), name, 0),
            )
            for name, label, unit in SHOWN
        ]
        for tenant in tenants
    }


def plan_list() -> QuerySet[Plan]:
    """Every plan, on offer or not, with the clusters it is sold on and `guest_count`."""
    return (
        Plan.objects.prefetch_related("clusters")
        .annotate(guest_count=Count("guests", filter=Q(guests__vanished_at__isnull=True)))
        .order_by("cores", "memory_mb", "name")
    )


def catalogue(*, cluster: str = "") -> list[tuple[Cluster, list[Guest], list[Image]]]:
    """Per cluster: its VM templates, then its ISO images and CT templates."""
    clusters = Cluster.objects.filter(name=cluster) if cluster else Cluster.objects.all()
    templates: dict[int, list[Guest]] = defaultdict(list)
    for template in template_list().order_by("name", "vmid"):
        templates[template.cluster_id].append(template)
    images: dict[int, list[Image]] = defaultdict(list)
    for image in image_list().select_related(None):
        images[image.cluster_id].append(image)
    return [(c, templates[c.pk], images[c.pk]) for c in clusters]
