"""Backup pages: the guest page's Backups tab (its backups, back up now, notes, protection,
delete, its schedules), restoring a backup (to a new guest or over its own), and the tenant's
backups page, which lists those of deleted guests too. They call the backup selectors and
services, never the REST API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.access.engine import has_privileges
from apps.backups import selectors, services
from apps.backups.forms import (
    BackupCreateForm,
    BackupNotesForm,
    RestoreNewForm,
    RestoreOverForm,
    ScheduleForm,
)
from apps.backups.models import Backup, BackupSchedule
from apps.guests import selectors as guest_selectors
from apps.guests.forms import SERVICE_REFUSALS, error_text, refusal_on_form
from apps.guests.models import Guest
from apps.guests.tabs import back_to_tab, render_tab
from apps.guests.views import guest_read_only_reason
from apps.operations.models import Operation
from apps.operations.selectors import operation_list
from apps.tenancy.selectors import plan_list

PAGE_SIZE = 50
# Operations that change what the Backups tab lists: while one runs, the tab looks again.
BACKUP_KINDS = (
    services.BACKUP_CREATE,
    services.BACKUP_UPDATE,
    services.BACKUP_DELETE,
    services.GUEST_RESTORE,
)


def _read_only_reason(request: HttpRequest, guest: Guest) -> str:
    return guest_read_only_reason(request.user, guest)


def _backups_panel(
    request: HttpRequest,
    guest: Guest,
    *,
    create_form: BackupCreateForm | None = None,
    schedule_form: ScheduleForm | None = None,
    edited: tuple[int, ScheduleForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = request.user
    read_only = _read_only_reason(request, guest)
    schedules = list(selectors.schedules_visible(actor=actor).filter(guest=guest))
    in_flight = list(
        operation_list(actor=actor)
        .filter(guest=guest, kind__in=BACKUP_KINDS)
        .exclude(state__in=Operation.TERMINAL_STATES)
    )
    return render_tab(
        request,
        guest=guest,
        tab="backups",
        panel="backups/_guest_backups.html",
        context={
            "backups": selectors.backups_visible(actor=actor).filter(guest=guest),
            "in_flight": in_flight,
            "read_only_reason": read_only,
            "may_back_up": not read_only and has_privileges(actor, guest.acl_path, "VM.Backup"),
            "plan_limit": guest.plan.backups if guest.plan is not None else None,
            "create_form": create_form or BackupCreateForm(),
            "schedule_form": schedule_form or ScheduleForm(),
            "schedules": [
                (
                    schedule,
                    edited[1]
                    if edited is not None and edited[0] == schedule.pk
                    else ScheduleForm.of(schedule),
                )
                for schedule in schedules
            ],
        },
        status=status,
    )


def _guest(request: HttpRequest, vmid: int) -> Guest:
    return guest_selectors.guest_get(actor=request.user, vmid=vmid)


def _back(backup: Backup) -> HttpResponse:
    """Where a change to a backup returns: its guest's tab, or the tenant's backups page."""
    if backup.guest is not None:
        return back_to_tab(backup.guest, "backups")
    return redirect("backups:list")


# -- a guest's backups ---------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def guest_backups(request: HttpRequest, vmid: int) -> HttpResponse:
    return _backups_panel(request, _guest(request, vmid))


@login_required
@require_POST
def backup_create(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = _guest(request, vmid)
    form = BackupCreateForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.backup_create(guest=guest, actor=request.user, **form.cleaned_data)
        except SERVICE_REFUSALS as error:
            status = refusal_on_form(form, error)
        else:
            messages.success(request, _("Backing up %(name)s.") % {"name": guest})
            return back_to_tab(guest, "backups")
    return _backups_panel(request, guest, create_form=form, status=status)


@login_required
@require_POST
def backup_notes(request: HttpRequest, backup_id: int) -> HttpResponse:
    backup = selectors.backup_get(actor=request.user, backup_id=backup_id)
    form = BackupNotesForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(form.errors.get("notes", [])))
        return _back(backup)
    return _change(
        request,
        backup,
        lambda: services.backup_update(
            backup=backup, actor=request.user, notes=form.cleaned_data["notes"]
        ),
        _("Saving the notes."),
    )


@login_required
@require_POST
def backup_protect(request: HttpRequest, backup_id: int) -> HttpResponse:
    backup = selectors.backup_get(actor=request.user, backup_id=backup_id)
    protect = request.POST.get("protected") == "true"
    return _change(
        request,
        backup,
        lambda: services.backup_update(backup=backup, actor=request.user, protected=protect),
        _("Protecting the backup.") if protect else _("Removing the protection."),
    )


@login_required
@require_POST
def backup_delete(request: HttpRequest, backup_id: int) -> HttpResponse:
    backup = selectors.backup_get(actor=request.user, backup_id=backup_id)
    return _change(
        request,
        backup,
        lambda: services.backup_delete(backup=backup, actor=request.user),
        _("Deleting the backup."),
    )


def _change(request: HttpRequest, backup: Backup, change, done: str) -> HttpResponse:
    """Run one change of a backup; its refusal shows on the page it came from."""
    try:
        change()
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, done)
    return _back(backup)


# -- restoring -----------------------------------------------------------------------------


def _own_guest(request: HttpRequest, backup: Backup) -> Guest | None:
    """The backup's guest, if it still exists and the user sees it."""
    if backup.guest is None:
        return None
    try:
        return _guest(request, backup.vmid)
    except Http404:
        return None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def backup_restore(request: HttpRequest, backup_id: int) -> HttpResponse:
    actor = request.user
    backup = selectors.backup_get(actor=actor, backup_id=backup_id)
    guest = _own_guest(request, backup)
    plans = list(plan_list())
    initial_plan = backup.plan.slug if backup.plan is not None else None
    new_form = RestoreNewForm(initial={"plan": initial_plan}, plans=plans)
    over_form = RestoreOverForm()
    status = 200
    target = request.POST.get("target") if request.method == "POST" else None
    if target == "new":
        new_form = RestoreNewForm(request.POST, plans=plans)
        status = 400
        if new_form.is_valid():
            try:
                operation = services.backup_restore_new(
                    backup=backup,
                    actor=actor,
                    name=new_form.cleaned_data["name"],
                    plan=new_form.chosen_plan(),
                )
            except SERVICE_REFUSALS as error:
                status = refusal_on_form(new_form, error)
            else:
                messages.success(
                    request,
                    _("Restoring into the new guest %(name)s.") % {"name": operation.guest},
                )
                return redirect("guests:detail", vmid=operation.guest.vmid)
    elif target == "same" and guest is not None:
        over_form = RestoreOverForm(request.POST)
        status = 400
        if over_form.is_valid():
            try:
                services.backup_restore_over(
                    backup=backup,
                    guest=guest,
                    actor=actor,
                    confirm=over_form.cleaned_data["confirm"],
                )
            except SERVICE_REFUSALS as error:
                status = refusal_on_form(over_form, error)
            else:
                messages.success(
                    request, _("Restoring %(name)s from the backup.") % {"name": guest}
                )
                return back_to_tab(guest, "backups")
    elif request.method == "POST":
        return redirect("backups:restore", backup_id=backup.pk)
    return render(
        request,
        "backups/restore.html",
        {
            "backup": backup,
            "guest": guest,
            "new_form": new_form,
            "over_form": over_form,
        },
        status=status,
    )


# -- schedules -----------------------------------------------------------------------------


@login_required
@require_POST
def schedule_create(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = _guest(request, vmid)
    form = ScheduleForm(request.POST)
    status = 400
    if form.is_valid() and guest.tenant is None:
        form.add_error(None, _("This guest belongs to no organisation."))
    elif form.is_valid():
        try:
            services.schedule_create(
                tenant=guest.tenant, actor=request.user, spec=form.spec(), guest=guest
            )
        except SERVICE_REFUSALS as error:
            status = refusal_on_form(form, error)
        else:
            messages.success(request, _("Schedule added."))
            return back_to_tab(guest, "backups")
    return _backups_panel(request, guest, schedule_form=form, status=status)


def _schedule(request: HttpRequest, vmid: int, schedule_id: int) -> tuple[Guest, BackupSchedule]:
    guest = _guest(request, vmid)
    schedule = selectors.schedule_get(actor=request.user, schedule_id=schedule_id)
    if schedule.guest_id != guest.pk:
        raise Http404("no such schedule")
    return guest, schedule


@login_required
@require_POST
def schedule_update(request: HttpRequest, vmid: int, schedule_id: int) -> HttpResponse:
    guest, schedule = _schedule(request, vmid, schedule_id)
    form = ScheduleForm(request.POST, prefix=f"schedule-{schedule.pk}")
    status = 400
    if form.is_valid():
        try:
            services.schedule_update(
                schedule=schedule, actor=request.user, spec=form.spec(storage=schedule.storage)
            )
        except SERVICE_REFUSALS as error:
            status = refusal_on_form(form, error)
        else:
            messages.success(request, _("Schedule saved."))
            return back_to_tab(guest, "backups")
    return _backups_panel(request, guest, edited=(schedule.pk, form), status=status)


@login_required
@require_POST
def schedule_toggle(request: HttpRequest, vmid: int, schedule_id: int) -> HttpResponse:
    guest, schedule = _schedule(request, vmid, schedule_id)
    spec = services.ScheduleSpec(
        schedule=schedule.schedule,
        mode=schedule.mode,
        storage=schedule.storage,
        keep=schedule.prune_options,
        enabled=not schedule.enabled,
    )
    try:
        services.schedule_update(schedule=schedule, actor=request.user, spec=spec)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(
            request, _("Schedule enabled.") if spec.enabled else _("Schedule disabled.")
        )
    return back_to_tab(guest, "backups")


@login_required
@require_POST
def schedule_delete(request: HttpRequest, vmid: int, schedule_id: int) -> HttpResponse:
    guest, schedule = _schedule(request, vmid, schedule_id)
    try:
        services.schedule_delete(schedule=schedule, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("Schedule deleted."))
    return back_to_tab(guest, "backups")


# -- the tenant's backups ------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def backup_list(request: HttpRequest) -> HttpResponse:
    """Every backup the user sees, those of deleted guests included, newest first."""
    backups = selectors.backups_visible(actor=request.user).select_related("plan")
    page = Paginator(backups, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "backups/backup_list.html", {"page": page})
