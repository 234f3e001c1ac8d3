"""Reading backups and schedules as the caller may see them. A backup of a live guest is seen
through the guest's path (`/vms/{vmid}`); one whose guest is gone, through its tenant's pool,
where the guest's grants came from. Schedules likewise: of a guest, or of the tenant's pool."""

from django.db.models import Q, QuerySet
from django.http import Http404

from apps.access.engine import AllExcept, Principal, visible_ids, visible_vmids
from apps.backups.models import Backup, BackupSchedule


def _within(visible: set | AllExcept, field: str) -> Q:
    if isinstance(visible, AllExcept):
        return ~Q(**{f"{field}__any": list(visible.excluded)}) if visible.excluded else Q()
    return Q(**{f"{field}__any": list(visible)})


def backups_visible(*, actor: Principal, privilege: str = "VM.Audit") -> QuerySet[Backup]:
    """The live backups the actor may see (or act on, with another privilege), newest first."""
    vmids = visible_vmids(actor, privilege)
    pools = visible_ids(actor, parent="/pool", privilege=privilege)
    of_guests = Q(guest__isnull=False) & _within(vmids, "vmid")
    of_deleted = Q(guest__isnull=True, tenant__isnull=False) & _within(pools, "tenant__slug")
    return (
        Backup.objects.filter(vanished_at__isnull=True)
        .filter(of_guests | of_deleted)
        .select_related("tenant", "guest", "cluster")
    )


def backup_get(*, actor: Principal, backup_id: int) -> Backup:
    """A backup the actor may not see is as missing as one that does not exist."""
    backup = backups_visible(actor=actor).filter(pk=backup_id).first()
    if backup is None:
        raise Http404("no such backup")
    return backup


def schedules_visible(*, actor: Principal) -> QuerySet[BackupSchedule]:
    vmids = visible_vmids(actor, "VM.Audit")
    pools = visible_ids(actor, parent="/pool", privilege="VM.Audit")
    return BackupSchedule.objects.filter(
        (Q(guest__isnull=False) & _within(vmids, "guest__vmid"))
        | (Q(guest__isnull=True) & _within(pools, "tenant__slug"))
    ).select_related("tenant", "guest")


def schedule_get(*, actor: Principal, schedule_id: int) -> BackupSchedule:
    schedule = schedules_visible(actor=actor).filter(pk=schedule_id).first()
    if schedule is None:
        raise Http404("no such schedule")
    return schedule
