"""Guest services: what the API, admin, tasks and commands call to change guests."""

from apps.guests.services.create import (
    container_create,
    guest_copy,
    guest_create,
    vm_create_from_iso,
)
from apps.guests.services.inventory import GuestSyncReport, guests_sync, images_sync
from apps.guests.services.lifecycle import guest_delete, guest_power, guest_resize, guest_update
from apps.guests.services.reinstall import guest_reinstall
from apps.guests.services.rules import GuestAccess
from apps.guests.services.tenants import tenant_suspend, tenant_unsuspend

__all__ = [
    "GuestAccess",
    "GuestSyncReport",
    "container_create",
    "guest_copy",
    "guest_create",
    "guest_delete",
    "guest_power",
    "guest_reinstall",
    "guest_resize",
    "guest_update",
    "guests_sync",
    "images_sync",
    "tenant_suspend",
    "tenant_unsuspend",
    "vm_create_from_iso",
]
