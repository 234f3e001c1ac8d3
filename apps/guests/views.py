"""Guest pages of the customer portal: list (search, filters, bulk power), detail (status, power,
settings, task history, delete) and the create wizard. They call the same selectors and services
as the REST API (apps/guests/api/views.py), never the API itself."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.humanize.templatetags.humanize import intcomma
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.access.engine import Principal, has_privileges
from apps.guests import selectors, services
from apps.guests.forms import (
    AccessStepForm,
    BulkPowerForm,
    GuestDeleteForm,
    GuestFilterForm,
    GuestSettingsForm,
    PlanStepForm,
    RegionStepForm,
    SourceStepForm,
    error_text,
    field_errors,
)
from apps.guests.models import CREATING, Guest
from apps.guests.services.rules import check_guest_name
from apps.guests.tabs import TABS
from apps.guests.wizard_sources import Source, wizard_sources
from apps.operations.models import Operation
from apps.operations.selectors import operation_list
from apps.operations.views import live_event
from apps.proxmox.guests import POWER_ACTIONS
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.selectors import plan_list, tenant_list
from apps.tenancy.services import QuotaExceeded
from apps.web.selectors import tenant_usage
from apps.web.templatetags.portal import power_label, status_class, status_label

PAGE_SIZE = 50
HISTORY_LENGTH = 20
# Power buttons on the detail page, in this order, and the statuses each is offered in.
POWER_BUTTONS = (
    ("start", ("stopped",)),
    ("shutdown", ("running",)),
    ("reboot", ("running",)),
    ("stop", ("running", "paused", "suspended")),
    ("suspend", ("running",)),
    ("resume", ("paused", "suspended")),
)
# The statuses a customer filters by (PVE's, plus the portal's own `creating` and `error`).
FILTER_STATES = ("running", "stopped", "paused", "suspended", "creating", "error")


# ------------------------------------------------------------------------------------------------
# List


def _filtered(guests: QuerySet[Guest], form: GuestFilterForm) -> QuerySet[Guest]:
    data = form.cleaned_data if form.is_valid() else {}
    query = (data.get("q") or "").strip()
    if query:
        match = Q(name__icontains=query) | Q(tags__icontains=query)
        if query.isdigit():
            match |= Q(vmid=int(query))
        guests = guests.filter(match)
    if state := data.get("state"):
        guests = guests.filter(status=state)
    if tag := (data.get("tag") or "").strip():
        # PVE keeps tags ';'-separated; match whole tags only.
        guests = guests.filter(
            Q(tags__iexact=tag)
            | Q(tags__istartswith=f"{tag};")
            | Q(tags__iendswith=f";{tag}")
            | Q(tags__icontains=f";{tag};")
        )
    return guests


@dataclass(frozen=True)
class GuestAbilities:
    """Which controls the page offers; the services check again on every post."""

    power: bool
    configure: bool
    delete: bool
    console: bool
    read_only_reason: str = ""


def tenant_read_only_reason(actor: Principal, tenant: Tenant | None) -> str:
    user = getattr(actor, "user", actor)
    if tenant is not None and tenant.status != Tenant.Status.ACTIVE and not user.is_superuser:
        return _("Your organisation's account is %(status)s: its guests are read-only.") % {
            "status": tenant.get_status_display().lower()
        }
    return ""


def guest_read_only_reason(actor: Principal, guest: Guest) -> str:
    """Why the guest's page offers no changes: its tenant's or its own suspension, or its
    being gone from the cluster ('' when it does)."""
    reason = tenant_read_only_reason(actor, guest.tenant)
    if not reason and guest.suspended and not getattr(actor, "user", actor).is_superuser:
        reason = _("This guest is suspended: it is read-only.")
    if guest.vanished_at is not None or guest.status == "destroyed":
        reason = reason or _("This guest no longer exists on its cluster.")
    return reason


def can_create(actor: Principal) -> bool:
    user = getattr(actor, "user", actor)
    if user.is_superuser:
        return True
    tenant = user.tenant
    return (
        tenant is not None
        and tenant.status == Tenant.Status.ACTIVE
        and has_privileges(actor, f"/pool/{tenant.slug}", "VM.Allocate")
    )


def _abilities(actor: Principal, guest: Guest) -> GuestAbilities:
    reason = guest_read_only_reason(actor, guest)
    if reason:
        return GuestAbilities(False, False, False, False, reason)
    return GuestAbilities(
        power=has_privileges(actor, guest.acl_path, "VM.PowerMgmt"),
        configure=has_privileges(actor, guest.acl_path, "VM.Config.Options"),
        delete=has_privileges(actor, guest.acl_path, "VM.Allocate"),
        console=has_privileges(actor, guest.acl_path, "VM.Console"),
    )


@never_cache
@login_required
@require_GET
def guest_list(request: HttpRequest) -> HttpResponse:
    actor = request.user
    form = GuestFilterForm(request.GET)
    visible = selectors.guest_list(actor=actor).exclude(status="destroyed")
    guests = _filtered(visible, form).select_related("plan")
    page = Paginator(guests, PAGE_SIZE).get_page(request.GET.get("page"))
    tags = sorted(
        {
            tag
            for text in visible.exclude(tags="")
            .order_by()
            .values_list("tags", flat=True)
            .distinct()
            for tag in text.split(";")
            if tag
        },
        key=str.lower,
    )
    read_only = tenant_read_only_reason(actor, actor.tenant)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "guests/guest_list.html",
        {
            "page": page,
            "filter_form": form,
            "states": FILTER_STATES,
            "tags": tags,
            "can_create": can_create(actor),
            "read_only_reason": read_only,
            "bulk_enabled": not read_only,
            "query": query.urlencode(),
            "next": request.get_full_path(),
        },
    )


@login_required
@require_POST
def guest_bulk_power(request: HttpRequest) -> HttpResponse:
    """One power action on the checked guests: an operation each, refusals listed."""
    actor = request.user
    form = BulkPowerForm(request.POST)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("guests:list")
    if not form.is_valid() or not form.cleaned_data["vmids"]:
        messages.error(request, _("Choose an action and at least one guest."))
        return redirect(back or reverse("guests:list"))
    action = form.cleaned_data["action"]
    started, refused = 0, []
    for vmid in form.cleaned_data["vmids"]:
        try:
            guest = selectors.guest_get(actor=actor, vmid=vmid)
            services.guest_power(guest=guest, action=action, actor=actor)
            started += 1
        except Http404:
            refused.append(f"{vmid}: " + _("no such guest"))
        except (ValidationError, PermissionDenied) as error:
            refused.append(f"{vmid}: {error_text(error)}")
    if started:
        messages.success(
            request,
            _("%(action)s requested for %(count)d guest(s).")
            % {"action": power_label(action), "count": started},
        )
    for reason in refused:
        messages.error(request, reason)
    return redirect(back or reverse("guests:list"))


# ------------------------------------------------------------------------------------------------
# Detail


def _detail_context(request: HttpRequest, guest: Guest, **forms) -> dict[str, object]:
    actor = request.user
    abilities = _abilities(actor, guest)
    history = list(operation_list(actor=actor).filter(guest=guest)[:HISTORY_LENGTH])
    offered = POWER_ACTIONS[guest.type]
    buttons = [
        {"action": action, "when": " ".join(states), "shown": guest.status in states}
        for action, states in POWER_BUTTONS
        if action in offered
    ]
    name = guest.name or str(guest.vmid)
    return {
        "guest": guest,
        "abilities": abilities,
        "history": history,
        "busy": any(not op.is_terminal for op in history) or guest.status == CREATING,
        "power_buttons": buttons,
        "settings_form": forms.get("settings_form")
        or GuestSettingsForm(
            initial={
                "name": guest.name,
                "tags": " ".join(guest.tags.split(";")),
                "notes": guest.notes,
            }
        ),
        "delete_form": forms.get("delete_form") or GuestDeleteForm(expected=name),
        "confirm_name": name,
        # The tab open on arrival (`?tab=`): where a change made in a tab comes back to.
        "tab": request.GET.get("tab") if request.GET.get("tab") in TABS else "overview",
    }


@never_cache
@login_required
@require_GET
def guest_detail(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    return render(request, "guests/guest_detail.html", _detail_context(request, guest))


@never_cache
@login_required
@require_GET
def guest_live(request: HttpRequest, vmid: int) -> JsonResponse:
    """What the detail page polls while something is in flight (static/portal/live.js)."""
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    operations = list(operation_list(actor=request.user).filter(guest=guest)[:HISTORY_LENGTH])
    return JsonResponse(
        {
            "vmid": guest.vmid,
            "status": guest.status,
            "status_label": status_label(guest.status),
            "status_class": status_class(guest.status),
            "node": guest.node,
            # As the page shows them (a resize changes them), in the language's number format.
            "sizes": {
                "cores": intcomma(guest.cores),
                "memory": f"{intcomma(guest.memory_mb)} MiB",
                "disk": f"{intcomma(guest.disk_gb)} GiB",
            },
            "operations": [live_event(op) for op in operations],
        }
    )


@login_required
@require_POST
def guest_power(request: HttpRequest, vmid: int, action: str) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    try:
        services.guest_power(guest=guest, action=action, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("%(action)s requested.") % {"action": power_label(action)})
    return redirect("guests:detail", vmid=guest.vmid)


@login_required
@require_POST
def guest_settings(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    form = GuestSettingsForm(request.POST)
    if form.is_valid():
        changes = {
            "name": form.cleaned_data["name"],
            "tags": form.cleaned_tags(),
            "notes": form.cleaned_data["notes"],
        }
        try:
            services.guest_update(guest=guest, actor=request.user, **changes)
        except ValidationError as error:
            field_errors(form, error)
        except PermissionDenied as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("Settings saved; PVE is applying them."))
            return redirect("guests:detail", vmid=guest.vmid)
    return render(
        request,
        "guests/guest_detail.html",
        _detail_context(request, guest, settings_form=form),
        status=400,
    )


@login_required
@require_POST
def guest_delete(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    form = GuestDeleteForm(request.POST, expected=guest.name or str(guest.vmid))
    if form.is_valid():
        try:
            services.guest_delete(guest=guest, actor=request.user)
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("Deleting %(name)s.") % {"name": guest})
            return redirect("guests:detail", vmid=guest.vmid)
    return render(
        request,
        "guests/guest_detail.html",
        _detail_context(request, guest, delete_form=form),
        status=400,
    )


# ------------------------------------------------------------------------------------------------
# Create wizard: plan -> what to install from -> region -> name and access -> review (quota
# impact). The region step is skipped when what was chosen is in one region only.

STEPS = ("plan", "source", "region", "access", "review")
STEP_FIELDS = {
    "plan": ("tenant", "plan"),
    "source": ("source",),
    "region": ("cluster",),
    "access": ("name", "user", "ssh_keys", "password", "ipv4", "gateway"),
    "review": (),
}
STEP_LABELS = {
    "plan": gettext_lazy("Plan"),
    "source": gettext_lazy("System"),
    "region": gettext_lazy("Region"),
    "access": gettext_lazy("Name and access"),
    "review": gettext_lazy("Review"),
}


def _carried(data, step: str) -> list[tuple[str, str]]:
    """The answers of the other steps, as hidden fields of this step's form."""
    if data is None:
        return []
    return [
        (name, data.get(name, ""))
        for other, names in STEP_FIELDS.items()
        if other != step
        for name in names
        if name in data
    ]


def _render_step(request, step: str, context: dict, status: int = 200) -> HttpResponse:
    # Once the source is known, a region step with one choice is left out of the steps shown.
    source = context.get("source")
    steps = [s for s in STEPS if s != "region" or source is None or len(source.regions) > 1]
    context.update(
        step=step,
        step_number=steps.index(step) + 1,
        steps=[(name, STEP_LABELS[name]) for name in steps],
        previous=steps[steps.index(step) - 1] if step != "plan" else "",
        carried=_carried(request.POST if request.method == "POST" else None, step),
    )
    return render(request, "guests/guest_create.html", context, status=status)


def _create(
    actor, tenant: Tenant, plan: Plan, source: Source, region: str, access: AccessStepForm
) -> Operation:
    cluster, install = source.regions[region]
    common = {"tenant": tenant, "plan": plan, "name": access.cleaned_data["name"], "actor": actor}
    if source.kind == "template":
        return services.guest_create(template_vmid=int(install), access=access.access(), **common)
    if source.kind == "iso":
        return services.vm_create_from_iso(iso=install, cluster=cluster, **common)
    return services.container_create(
        ostemplate=install, cluster=cluster, access=access.access(), **common
    )


def _check_access(form: AccessStepForm, source: Source) -> bool:
    """The form's own checks, then the service's (name and access) so they show at this step."""
    if not form.is_valid():
        return False
    guest_type = Guest.Type.LXC if source.kind == "ostemplate" else Guest.Type.QEMU
    try:
        check_guest_name(form.cleaned_data["name"])
        form.access().check(guest_type)
    except ValidationError as error:
        field_errors(form, error)
        return False
    return True


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def guest_create(request: HttpRequest) -> HttpResponse:
    """The wizard: each post carries every answer so far; `step` names the form submitted and
    `back` a step to return to. The page shown is the first step whose answers are missing or
    wrong, else the one after the submitted step; the review step's post creates the guest."""
    actor = request.user
    if not can_create(actor):
        messages.error(
            request,
            tenant_read_only_reason(actor, actor.tenant) or _("You may not create guests."),
        )
        return redirect("guests:list")
    tenants = None if actor.tenant_id else list(tenant_list(actor=actor))
    plans = list(plan_list())
    if request.method == "GET":
        return _render_step(
            request, "plan", {"plan_form": PlanStepForm(plans=plans, tenants=tenants)}
        )
    data = request.POST
    submitted = data.get("step") if data.get("step") in STEPS else "plan"
    back = data.get("back") if data.get("back") in STEPS else None
    answered = STEPS.index(submitted)  # steps up to this one have answers to check

    plan_form = PlanStepForm(data, plans=plans, tenants=tenants)
    if back == "plan" or not plan_form.is_valid():
        return _render_step(request, "plan", {"plan_form": plan_form}, 200 if back else 400)
    plan = next(p for p in plans if p.slug == plan_form.cleaned_data["plan"])
    tenant = (
        actor.tenant
        if tenants is None
        else next(t for t in tenants if t.slug == plan_form.cleaned_data["tenant"])
    )
    sources = wizard_sources(plan)
    choices = [(source.value, source.label, source.kind) for source in sources]
    context: dict[str, object] = {"plan": plan, "tenant": tenant}
    if answered < 1 or back == "source":
        form = SourceStepForm(data if back else None, initial=data, sources=choices)
        return _render_step(request, "source", {**context, "source_form": form})
    source_form = SourceStepForm(data, sources=choices)
    if not source_form.is_valid():
        return _render_step(request, "source", {**context, "source_form": source_form}, 400)
    source = next(s for s in sources if s.value == source_form.cleaned_data["source"])
    context["source"] = source
    if len(source.regions) > 1:
        if answered < 2 or back == "region":
            form = RegionStepForm(data if back else None, initial=data, regions=source.regions)
            return _render_step(request, "region", {**context, "region_form": form})
        region_form = RegionStepForm(data, regions=source.regions)
        if not region_form.is_valid():
            return _render_step(request, "region", {**context, "region_form": region_form}, 400)
        region = region_form.cleaned_data["cluster"]
    else:
        region = next(iter(source.regions))
    context["region"] = region
    if answered < 3 or back == "access":
        form = AccessStepForm(data if back else None, initial=data)
        return _render_step(request, "access", {**context, "access_form": form})
    access_form = AccessStepForm(data)
    if not _check_access(access_form, source):
        return _render_step(request, "access", {**context, "access_form": access_form}, 400)
    need = Resources(guests=1, vcpus=plan.cores, memory_mb=plan.memory_mb, disk_gb=plan.disk_gb)
    context.update(access_form=access_form, usage=tenant_usage(tenant=tenant, need=need))
    if submitted != "review":
        return _render_step(request, "review", context)
    try:
        operation = _create(actor, tenant, plan, source, region, access_form)
    except QuotaExceeded as error:
        context["refusal"] = str(error)
        context["exceeded"] = error.exceeded
        return _render_step(request, "review", context, status=409)
    except (ValidationError, PermissionDenied) as error:
        context["refusal"] = error_text(error)
        return _render_step(request, "review", context, status=400)
    messages.success(
        request, _("Creating %(name)s: it starts when it is ready.") % {"name": operation.guest}
    )
    return redirect("guests:detail", vmid=operation.guest.vmid)
