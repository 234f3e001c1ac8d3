"""The guest page's Manage tab: resize to a larger plan, reinstall from a template (its name
typed, as the disks are destroyed) and copy to a new guest. The services decide; refusals
(the quota's 409, a shrinking disk, a busy guest) show on the panel's forms."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.access.engine import Principal, has_privileges
from apps.guests import selectors, services
from apps.guests.forms import (
    SERVICE_REFUSALS,
    CopyForm,
    ReinstallForm,
    ResizeForm,
    refusal_on_form,
)
from apps.guests.models import Guest, Image
from apps.guests.tabs import render_tab
from apps.guests.views import guest_read_only_reason
from apps.tenancy.models import Plan
from apps.web.templatetags.portal import plan_sizes

FORMS = ("resize", "reinstall", "copy")


def _plan_choices(plans: list[Plan]) -> list[tuple[str, str]]:
    return [(p.slug, f"{p.name} · {plan_sizes(p)}") for p in plans]


def _resize_form(guest: Guest, plans: list[Plan], data=None) -> ResizeForm:
    others = [p for p in plans if p.pk != guest.plan_id]
    return ResizeForm(
        data,
        plans=_plan_choices(others),
        larger=[p.slug for p in others if p.disk_gb >= guest.disk_gb],
    )


def _copy_form(guest: Guest, plans: list[Plan], data=None) -> CopyForm:
    return CopyForm(
        data,
        plans=_plan_choices([p for p in plans if p.disk_gb >= guest.disk_gb]),
        initial={"plan": guest.plan.slug if guest.plan else None, "name": f"{guest.name}-copy"},
    )


def reinstall_sources(guest: Guest) -> list[tuple[str, str]]:
    """What the guest can be reinstalled from on its own cluster, as the REST API allows: a VM
    from a VM template (its VMID), a container from a CT template (its volume id)."""
    if guest.type == Guest.Type.QEMU:
        templates = selectors.template_list(plan=guest.plan).filter(
            cluster=guest.cluster, type=Guest.Type.QEMU
        )
        return [(str(t.vmid), t.name or str(t.vmid)) for t in templates.order_by("name", "vmid")]
    images = selectors.image_list(plan=guest.plan).filter(
        cluster=guest.cluster, content=Image.Content.VZTMPL
    )
    volids = {image.volid: image.file_name for image in images}  # once, not once a node
    return sorted(volids.items(), key=lambda item: item[1])


def _reinstall_form(guest: Guest, data=None) -> ReinstallForm:
    return ReinstallForm(
        data, sources=reinstall_sources(guest), expected=guest.name or str(guest.vmid)
    )


def _may(actor: Principal, guest: Guest) -> dict[str, bool]:
    """Which forms the panel offers; the services check again on every post."""
    path = guest.acl_path
    pool_path = f"/pool/{guest.tenant.slug}" if guest.tenant else ""
    return {
        "resize": has_privileges(
            actor, path, ["VM.Config.CPU", "VM.Config.Memory", "VM.Config.Disk"]
        ),
        "reinstall": has_privileges(actor, path, "VM.Allocate"),
        "copy": bool(pool_path)
        and has_privileges(actor, path, "VM.Clone")
        and has_privileges(actor, pool_path, "VM.Allocate"),
    }


def _panel(request: HttpRequest, guest: Guest, *, status: int = 200, **forms) -> HttpResponse:
    actor = request.user
    read_only = guest_read_only_reason(actor, guest)
    may = dict.fromkeys(FORMS, False) if read_only else _may(actor, guest)
    plans = selectors.plans_on_offer(cluster=guest.cluster)
    return render_tab(
        request,
        guest=guest,
        tab="manage",
        panel="guests/_manage.html",
        context={
            "read_only_reason": read_only,
            "may": may,
            "resize_form": forms.get("resize_form") or _resize_form(guest, plans),
            "reinstall_form": forms.get("reinstall_form") or _reinstall_form(guest),
            "copy_form": forms.get("copy_form") or _copy_form(guest, plans),
            "confirm_name": guest.name or str(guest.vmid),
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def guest_manage(request: HttpRequest, vmid: int) -> HttpResponse:
    return _panel(request, selectors.guest_get(actor=request.user, vmid=vmid))


@login_required
@require_POST
def guest_resize(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    plans = selectors.plans_on_offer(cluster=guest.cluster)
    form = _resize_form(guest, plans, request.POST)
    status = 400
    if form.is_valid():
        plan = next(p for p in plans if p.slug == form.cleaned_data["plan"])
        try:
            services.guest_resize(guest=guest, plan=plan, actor=request.user)
        except SERVICE_REFUSALS as error:
            status = refusal_on_form(form, error)
        else:
            messages.success(request, _("Resizing to plan %(plan)s.") % {"plan": plan.name})
            return redirect("guests:detail", vmid=guest.vmid)
    return _panel(request, guest, resize_form=form, status=status)


@login_required
@require_POST
def guest_reinstall(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    form = _reinstall_form(guest, request.POST)
    status = 400
    if form.is_valid():
        source = form.cleaned_data["source"]
        if guest.type == Guest.Type.QEMU:
            install_from = {"template_vmid": int(source)}
        else:
            install_from = {"ostemplate": source}
        try:
            services.guest_reinstall(
                guest=guest, actor=request.user, access=form.access(), **install_from
            )
        except SERVICE_REFUSALS as error:
            status = refusal_on_form(form, error)
        else:
            messages.success(request, _("Reinstalling %(name)s.") % {"name": guest})
            return redirect("guests:detail", vmid=guest.vmid)
    return _panel(request, guest, reinstall_form=form, status=status)


@login_required
@require_POST
def guest_copy(request: HttpRequest, vmid: int) -> HttpResponse:
    guest = selectors.guest_get(actor=request.user, vmid=vmid)
    plans = selectors.plans_on_offer(cluster=guest.cluster)
    form = _copy_form(guest, plans, request.POST)
    status = 400
    if form.is_valid():
        plan = next(p for p in plans if p.slug == form.cleaned_data["plan"])
        try:
            operation = services.guest_copy(
                source=guest, name=form.cleaned_data["name"], plan=plan, actor=request.user
            )
        except SERVICE_REFUSALS as error:
            status = refusal_on_form(form, error)
        else:
            messages.success(
                request,
                _("Copying %(source)s to %(name)s.") % {"source": guest, "name": operation.guest},
            )
            return redirect("guests:detail", vmid=operation.guest.vmid)
    return _panel(request, guest, copy_form=form, status=status)
