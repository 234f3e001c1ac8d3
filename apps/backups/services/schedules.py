"""Backup schedules: PVE's calendar events (`mon..fri 02:30`, `*/6:00`) per guest or for every
guest of a tenant, run by beat as their owner, each run pruned by the schedule's keep rules.
Times are the portal's time zone (TIME_ZONE), as PVE's are its node's."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.access.engine import Principal, audit_actor, require
from apps.access.exceptions import AccessDenied
from apps.audit.services import SYSTEM, audit_record
from apps.backups.models import BackupSchedule
from apps.backups.services.create import MODES, backup_create
from apps.backups.services.notify import tenant_notify
from apps.guests.models import Guest
from apps.identity.models import User
from apps.operations.models import Operation
from apps.tenancy.models import Tenant
from apps.tenancy.services import QuotaExceeded
from pvecore import calendar_event
from pvecore.prune import PruneOptions, PruneOptionsError

KEEP_FIELDS = (
    "keep_last",
    "keep_hourly",
    "keep_daily",
    "keep_weekly",
    "keep_monthly",
    "keep_yearly",
)


@dataclass(frozen=True)
class ScheduleSpec:
    schedule: str
    mode: str = "snapshot"
    storage: str = ""
    keep: PruneOptions = field(default_factory=PruneOptions)
    enabled: bool = True


def _check(spec: ScheduleSpec) -> None:
    errors: dict[str, str] = {}
    try:
        calendar_event.parse(spec.schedule)
    except calendar_event.CalendarEventError as error:
        errors["schedule"] = str(error)
    if spec.mode not in MODES:
        errors["mode"] = f"one of {', '.join(MODES)}"
    if errors:
        raise ValidationError(errors)


def keep_options(**counts: int) -> PruneOptions:
    """The keep rules from their counts, refused clearly when invalid."""
    try:
        return PruneOptions(**counts)
    except PruneOptionsError as error:
        raise ValidationError({"keep": str(error)}) from error


def next_run_after(schedule: str, moment: datetime) -> datetime | None:
    return calendar_event.next_run(schedule, timezone.localtime(moment))


def _guard(actor: Principal, tenant: Tenant, guest: Guest | None, storage: str) -> None:
    require(actor, ["VM.Backup"], guest.acl_path if guest else f"/pool/{tenant.slug}")
    if storage:
        require(actor, ["Datastore.AllocateSpace"], f"/storage/{storage}")
    owner = getattr(actor, "user", actor)
    if tenant.status != Tenant.Status.ACTIVE and not owner.is_superuser:
        raise ValidationError(f"tenant '{tenant.slug}' is {tenant.status}: it is read-only")


def schedule_create(
    *, tenant: Tenant, actor: Principal, spec: ScheduleSpec, guest: Guest | None = None
) -> BackupSchedule:
    """A schedule of one guest (VM.Backup on it) or of every guest of the tenant (VM.Backup on
    its pool); its runs act as the caller's user."""
    _check(spec)
    if guest is not None and guest.tenant_id != tenant.pk:
        raise ValidationError({"guest": f"guest {guest.vmid} is not a guest of {tenant.slug}"})
    owner = getattr(actor, "user", actor)
    if not isinstance(owner, User):
        raise ValidationError("a schedule needs a user to run as")
    with transaction.atomic():
        _guard(actor, tenant, guest, spec.storage)
        schedule = BackupSchedule.objects.create(
            tenant=tenant,
            guest=guest,
            owner=owner,
            schedule=spec.schedule,
            storage=spec.storage,
            mode=spec.mode,
            enabled=spec.enabled,
            next_run_at=next_run_after(spec.schedule, timezone.now()) if spec.enabled else None,
            **{name: getattr(spec.keep, name) for name in KEEP_FIELDS},
        )
        audit_record(
            action="backups.schedule_create",
            actor=audit_actor(actor),
            target=guest.acl_path if guest else f"/pool/{tenant.slug}",
            detail={"schedule": schedule.pk, "when": spec.schedule, "keep": spec.keep.render()},
        )
    return schedule


def schedule_update(
    *, schedule: BackupSchedule, actor: Principal, spec: ScheduleSpec
) -> BackupSchedule:
    _check(spec)
    with transaction.atomic():
        _guard(actor, schedule.tenant, schedule.guest, spec.storage)
        schedule = BackupSchedule.objects.select_for_update().get(pk=schedule.pk)
        schedule.schedule, schedule.mode, schedule.storage = spec.schedule, spec.mode, spec.storage
        schedule.enabled = spec.enabled
        for name in KEEP_FIELDS:
            setattr(schedule, name, getattr(spec.keep, name))
        schedule.next_run_at = (
            next_run_after(spec.schedule, timezone.now()) if spec.enabled else None
        )
        schedule.save()
        audit_record(
            action="backups.schedule_update",
            actor=audit_actor(actor),
            target=f"/pool/{schedule.tenant.slug}",
            detail={"schedule": schedule.pk, "when": spec.schedule, "keep": spec.keep.render()},
        )
    return schedule


def schedule_delete(*, schedule: BackupSchedule, actor: Principal) -> None:
    with transaction.atomic():
        _guard(actor, schedule.tenant, schedule.guest, "")
        audit_record(
            action="backups.schedule_delete",
            actor=audit_actor(actor),
            target=f"/pool/{schedule.tenant.slug}",
            detail={"schedule": schedule.pk},
        )
        schedule.delete()


def schedules_due(*, now: datetime) -> list[int]:
    return list(
        BackupSchedule.objects.filter(enabled=True, next_run_at__lte=now).values_list(
            "pk", flat=True
        )
    )


def _claim_run(schedule_id: int, now: datetime) -> BackupSchedule | None:
    """Move the schedule to its next time; None when another run took it (or it is not due)."""
    with transaction.atomic():
        schedule = (
            BackupSchedule.objects.select_for_update(of=("self",))
            .select_related("tenant", "guest", "owner")
            .filter(pk=schedule_id, enabled=True, next_run_at__lte=now)
            .first()
        )
        if schedule is None:
            return None
        schedule.last_run_at = now
        schedule.next_run_at = next_run_after(schedule.schedule, now)
        schedule.save(update_fields=["last_run_at", "next_run_at"])
    return schedule


def schedule_run(*, schedule_id: int, now: datetime) -> list[Operation]:
    """One run: a backup operation for each guest the schedule covers. A guest that cannot be
    backed up now (busy, over quota, the owner's access gone) is reported, the others run."""
    schedule = _claim_run(schedule_id, now)
    if schedule is None:
        return []
    guests = (
        [schedule.guest]
        if schedule.guest is not None
        else list(
            Guest.objects.filter(
                tenant=schedule.tenant, template=False, vanished_at__isnull=True
            ).select_related("plan", "tenant", "cluster")
        )
    )
    operations, problems = [], []
    for guest in guests:
        if schedule.owner is None or not schedule.owner.is_active:
            problems.append("the schedule's owner is no longer an active user")
            break
        try:
            operations.append(
                backup_create(
                    guest=guest,
                    actor=schedule.owner,
                    storage=schedule.storage or None,
                    mode=schedule.mode,
                    prune=schedule.prune_options,
                    schedule=schedule,
                )
            )
        except (ValidationError, AccessDenied, QuotaExceeded) as error:
            reason = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            problems.append(f"guest {guest.vmid}: {reason}")
    BackupSchedule.objects.filter(pk=schedule.pk).update(last_error="\n".join(problems))
    audit_record(
        action="backups.schedule_run",
        actor=SYSTEM,
        target=f"/pool/{schedule.tenant.slug}",
        detail={
            "schedule": schedule.pk,
            "operations": [str(op.pk) for op in operations],
            "problems": problems,
        },
    )
    if problems:
        tenant_notify(
            tenant=schedule.tenant,
            subject=f"Scheduled backup ({schedule.schedule}) could not start for every guest",
            body="\n".join(problems),
        )
    return operations
