"""Reads that span apps for the portal's pages: a tenant's quota usage, guests by state."""

from dataclasses import dataclass

from django.db.models import Count
from django.utils.translation import gettext_lazy as _

from apps.access.engine import Principal
from apps.guests.selectors import guest_list, tenant_guest_usage
from apps.tenancy.models import Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.selectors import quota_limits, reserved

# What the pages show of a quota, in this order, with the unit each is counted in.
SHOWN = (
    ("guests", _("Guests"), ""),
    ("vcpus", _("vCPUs"), ""),
    ("memory_mb", _("Memory"), "MiB"),
    ("disk_gb", _("Disk"), "GiB"),
    ("snapshots", _("Snapshots"), ""),
)


@dataclass(frozen=True)
class UsageRow:
    name: str
    label: str
    unit: str
    used: int  # live guests plus what operations in flight hold
    limit: int
    requested: int = 0  # what a request would add (the create wizard's review)

    @property
    def after(self) -> int:
        return self.used + self.requested

    @property
    def exceeded(self) -> bool:
        return self.requested > 0 and self.after > self.limit

    @property
    def percent(self) -> int:
        if not self.limit:
            return 100 if self.after else 0
        return min(100, round(self.after * 100 / self.limit))


def tenant_usage(*, tenant: Tenant, need: Resources | None = None) -> list[UsageRow]:
    """The tenant's quota against its use (live guests and reservations), optionally with what
    `need` would add: the same sums quota_reserve checks."""
    limits = quota_limits(tenant=tenant)
    used = tenant_guest_usage(tenant=tenant) + reserved(tenant=tenant)
    need = need or Resources()
    return [
        UsageRow(
            name=name,
            label=str(label),
            unit=unit,
            used=getattr(used, name),
            limit=getattr(limits, name),
            requested=getattr(need, name),
        )
        for name, label, unit in SHOWN
    ]


def guests_by_status(*, actor: Principal) -> dict[str, int]:
    """How many of the guests the actor sees are in each status (PVE's words)."""
    rows = (
        guest_list(actor=actor)
        .exclude(status="destroyed")
        .order_by()
        .values("status")
        .annotate(count=Count("pk"))
    )
    return {row["status"]: row["count"] for row in sorted(rows, key=lambda r: r["status"])}
