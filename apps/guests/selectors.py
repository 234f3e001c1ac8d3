"""Reads of guests, scoped by what the actor may see (VM.Audit)."""

from django.db.models import QuerySet
from django.http import Http404

from apps.access.engine import Principal, filter_by_vmid
from apps.guests.models import Guest


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
