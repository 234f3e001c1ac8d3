"""The back-office's global search over guests (VMID, name, tags), nodes, storages, pools and
tenants. Each kind is one query cut at `limit` rows; a VMID is looked up through its unique
index first. Operators see everything, so no row is checked against ACLs."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from apps.access.models import Pool
from apps.clusters.models import VMID_MAX, Node, Storage
from apps.guests.models import Guest
from apps.tenancy.models import Tenant

LIMIT = 20
MAX_QUERY_LENGTH = 64


@dataclass(frozen=True)
class SearchResults:
    query: str
    guests: list[Guest]
    nodes: list[Node]
    storages: list[dict[str, str]]
    pools: list[Pool]
    tenants: list[Tenant]

    @property
    def empty(self) -> bool:
        return not (self.guests or self.nodes or self.storages or self.pools or self.tenants)


def _guests(query: str, limit: int) -> list[Guest]:
    guests = Guest.objects.select_related("cluster", "tenant")
    is_vmid = query.isdigit() and int(query) <= VMID_MAX
    exact = list(guests.filter(vmid=int(query))) if is_vmid else []
    # Tags are PVE's `a;b;c` list: a match inside it is a match on one of its tags.
    by_text = guests.filter(Q(name__icontains=query) | Q(tags__icontains=query)).exclude(
        pk__in=[guest.pk for guest in exact]
    )
    return exact + list(by_text.order_by("vmid")[: limit - len(exact)])


def _storages(query: str, limit: int) -> QuerySet:
    return (
        Storage.objects.filter(storage__icontains=query)
        .order_by("cluster__name", "storage")
        .values("cluster__name", "storage", "type")
        .distinct()[:limit]
    )


def search(*, query: str, limit: int = LIMIT) -> SearchResults:
    query = query.strip()[:MAX_QUERY_LENGTH]
    if not query:
        return SearchResults(query, [], [], [], [], [])
    return SearchResults(
        query=query,
        guests=_guests(query, limit),
        nodes=list(Node.objects.filter(name__icontains=query).select_related("cluster")[:limit]),
        storages=list(_storages(query, limit)),
        pools=list(Pool.objects.filter(name__icontains=query).order_by("name")[:limit]),
        tenants=list(
            Tenant.objects.filter(Q(slug__icontains=query) | Q(name__icontains=query)).order_by(
                "slug"
            )[:limit]
        ),
    )
