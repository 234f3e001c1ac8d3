"""Sharing one guest from its page: the tenant's admins grant one of its users or groups a role
on `/vms/<vmid>` and revoke it. The guest page loads the panel (htmx) so it costs the page
nothing; without JavaScript the panel is a page of its own."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.access.exceptions import AccessDenied
from apps.guests.models import Guest
from apps.guests.selectors import guest_get
from apps.tenancy.models import Tenant
from apps.tenantadmin import selectors, services
from apps.tenantadmin.forms import GrantForm
from apps.tenantadmin.views import error_text


def _shared_guest(request: HttpRequest, vmid: int) -> tuple[Tenant, Guest]:
    """The guest (404 unless the actor sees it and it is their tenant's) and its tenant, which
    the actor must administer with the right to change the guest's permissions (403)."""
    guest = guest_get(actor=request.user, vmid=vmid)
    tenant = selectors.administered_tenant(request.user)
    if guest.tenant_id != tenant.pk:
        raise Http404("no such guest")
    if not selectors.may_modify_permissions(request.user, guest.acl_path):
        raise AccessDenied(guest.acl_path, "Permissions.Modify|VM.Allocate")
    return tenant, guest


def _form(request: HttpRequest, tenant: Tenant, guest: Guest, data=None, roles=None) -> GrantForm:
    if roles is None:
        roles = selectors.grantable_roles(request.user, guest.acl_path)
    return GrantForm(
        data,
        initial={"role": "PVEVMUser"},
        paths=[guest.acl_path],
        users=[
            user for user in selectors.tenant_users(tenant=tenant) if user.pk != request.user.pk
        ],
        groups=list(selectors.tenant_groups(tenant=tenant)),
        roles=[role.name for role in roles],
    )


@never_cache
@login_required
@require_GET
def guest_sharing(request: HttpRequest, vmid: int) -> HttpResponse:
    tenant, guest = _shared_guest(request, vmid)
    entries = selectors.tenant_acl_entries(tenant=tenant, paths=[guest.acl_path])
    roles = selectors.grantable_roles(request.user, guest.acl_path)
    template = (
        "tenantadmin/_sharing_panel.html"
        if request.headers.get("HX-Request")
        else "tenantadmin/sharing.html"
    )
    return render(
        request,
        template,
        {
            "guest": guest,
            "entries": entries,
            "form": _form(request, tenant, guest, roles=roles),
            "roles": roles,
        },
    )


def _back(guest: Guest) -> HttpResponse:
    return redirect(reverse("guests:detail", args=[guest.vmid]) + "#sharing")


@login_required
@require_POST
def guest_share(request: HttpRequest, vmid: int) -> HttpResponse:
    tenant, guest = _shared_guest(request, vmid)
    data = request.POST.copy()
    data["path"] = guest.acl_path  # the URL names the guest
    form = _form(request, tenant, guest, data)
    if not form.is_valid():
        messages.error(request, _("Choose a user or group and a role."))
        return _back(guest)
    try:
        services.tenant_acl_grant(
            tenant=tenant,
            actor=request.user,
            path=guest.acl_path,
            role=form.cleaned_data["role"],
            propagate=form.cleaned_data["propagate"],
            **form.subject_kwargs(),
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("%(name)s is shared.") % {"name": guest})
    return _back(guest)


@login_required
@require_POST
def guest_unshare(request: HttpRequest, vmid: int, entry_id: int) -> HttpResponse:
    tenant, guest = _shared_guest(request, vmid)
    entry = selectors.tenant_acl_entry_get(tenant=tenant, entry_id=entry_id)
    if entry.path != guest.acl_path:
        raise Http404("no such ACL entry")
    try:
        services.tenant_acl_revoke(tenant=tenant, actor=request.user, entry=entry)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("Access revoked."))
    return _back(guest)
