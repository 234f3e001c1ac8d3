"""Reads of guests, scoped by what the actor may see (VM.Audit)."""

from django.db.models import Count, QuerySet, Sum
from django.http import Http404

from apps.access.engine import Principal, filter_by_vmid
from apps.guests.models import Guest
from apps.tenancy.models import Tenant
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
    """What a tenant's live guests (not vanished, not templates) count against its quota."""
    guests = Guest.objects.filter(tenant=tenant, vanished_at__isnull=True, template=False)
    totals = guests.aggregate(
        count=Count("pk"), vcpus=Sum("cores"), memory_mb=Sum("memory_mb"), disk_gb=Sum("disk_gb")
    )
    return Resources(
        guests=totals["count"],
        vcpus=totals["vcpus"] or 0,
        memory_mb=totals["memory_mb"] or 0,
        disk_gb=totals["disk_gb"] or 0,
    )
