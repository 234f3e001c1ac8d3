"""The guests' state history usage is computed from: one interval per stretch of time a guest
had the same sizes, tenant and running state. Written when the portal changes a guest (an
operation ends), when the sync sees a change made on PVE, and when a guest row goes."""

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.billing.models import GuestState
from apps.guests.models import CREATING, Guest

# Statuses of guests that do not exist on PVE (yet, or any more): they use nothing.
ABSENT_STATUSES = frozenset({CREATING, "destroyed", "unknown", ""})


def _state_of(guest: Guest) -> dict | None:
    """What the guest uses now, or None when it uses nothing (no tenant, a template, not on
    PVE)."""
    if (
        guest.tenant_id is None
        or guest.template
        or guest.vanished_at is not None
        or guest.status in ABSENT_STATUSES
    ):
        return None
    return {
        "tenant_id": guest.tenant_id,
        "cores": guest.cores,
        "memory_mb": guest.memory_mb,
        "disk_gb": guest.disk_gb,
        "running": guest.status == "running",
    }


def _unchanged(state: GuestState, wanted: dict) -> bool:
    return all(getattr(state, name) == value for name, value in wanted.items())


def guest_state_record(*, guest: Guest, at: datetime.datetime | None = None) -> None:
    """Bring the guest's history up to date with its row: the open interval ends at `at` and
    a new one begins there, unless nothing that counts changed."""
    at = at or timezone.now()
    wanted = _state_of(guest)
    with transaction.atomic():
        current = (
            GuestState.objects.select_for_update()
            .filter(vmid=guest.vmid, valid_to__isnull=True)
            .first()
        )
        if current is not None and wanted is not None and _unchanged(current, wanted):
            return
        if current is not None:
            # Never before its start: history is only ever appended to.
            at = max(at, current.valid_from)
            current.valid_to = at
            current.save(update_fields=["valid_to"])
        if wanted is None:
            return
        try:
            with transaction.atomic():
                GuestState.objects.create(vmid=guest.vmid, guest=guest, valid_from=at, **wanted)
        except IntegrityError:
            pass  # a concurrent recording opened the interval first; it saw the same row


def guest_state_close(*, vmid: int, at: datetime.datetime | None = None) -> None:
    """The guest is gone (deleted, or its row removed): its open interval ends at `at`."""
    at = at or timezone.now()
    with transaction.atomic():
        current = (
            GuestState.objects.select_for_update().filter(vmid=vmid, valid_to__isnull=True).first()
        )
        if current is not None:
            current.valid_to = max(at, current.valid_from)
            current.save(update_fields=["valid_to"])
