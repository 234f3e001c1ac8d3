"""Backup services: what the API, pages, tasks and the admin call to make, change, restore and
schedule backups."""

from apps.backups.services.create import (
    BACKUP_CREATE,
    MODES,
    NOTES_MAX_LENGTH,
    backup_create,
    backup_storage,
)
from apps.backups.services.mirror import backups_mirror, storage_backups_mirror
from apps.backups.services.restore import GUEST_RESTORE, backup_restore_new, backup_restore_over
from apps.backups.services.schedules import (
    ScheduleSpec,
    keep_options,
    schedule_create,
    schedule_delete,
    schedule_run,
    schedule_update,
    schedules_due,
)
from apps.backups.services.storage import tenant_backup_storage_set
from apps.backups.services.sync import backups_sync
from apps.backups.services.volumes import (
    BACKUP_DELETE,
    BACKUP_UPDATE,
    backup_delete,
    backup_update,
)

__all__ = [
    "BACKUP_CREATE",
    "BACKUP_DELETE",
    "BACKUP_UPDATE",
    "GUEST_RESTORE",
    "MODES",
    "NOTES_MAX_LENGTH",
    "ScheduleSpec",
    "backup_create",
    "backup_delete",
    "backup_restore_new",
    "backup_restore_over",
    "backup_storage",
    "backup_update",
    "backups_mirror",
    "backups_sync",
    "keep_options",
    "schedule_create",
    "schedule_delete",
    "schedule_run",
    "schedule_update",
    "schedules_due",
    "storage_backups_mirror",
    "tenant_backup_storage_set",
]
