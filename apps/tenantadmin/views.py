"""The tenant-admin pages: users, groups, permissions (ACL editor) and the audit log of the
admin's own tenant. Users who do not administer it get 403; everything of another tenant is 404.
The pages show what may be done; the services (apps/tenantadmin/services.py) decide."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.tenantadmin import selectors, services
from apps.tenantadmin.forms import GrantForm, GroupForm, InviteForm, MembersForm

AUDIT_PAGE_SIZE = 50


def error_text(error: ValidationError | PermissionDenied) -> str:
    return "; ".join(getattr(error, "messages", None) or [str(error)])


def _form_errors(form, error: ValidationError) -> None:
    form.add_error(None, error.messages)


# Users -----------------------------------------------------------------------------------------


def _users_page(request: HttpRequest, invite_form: InviteForm, status: int = 200) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    return render(
        request,
        "tenantadmin/users.html",
        {
            "tenant": tenant,
            "users": selectors.tenant_users(tenant=tenant),
            "invite_form": invite_form,
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    return _users_page(request, InviteForm())


@login_required
@require_POST
def user_invite(request: HttpRequest) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            user = services.tenant_user_invite(
                tenant=tenant, actor=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(
                request,
                _("%(userid)s is invited: a link to choose a password went to %(email)s.")
                % {"userid": user.username, "email": user.email},
            )
            return redirect("tenantadmin:users")
    return _users_page(request, form, status=400)


def _user_action(request: HttpRequest, userid: str, action, done: str) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    try:
        action(tenant=tenant, actor=request.user, userid=userid)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, done % {"userid": userid})
    return redirect("tenantadmin:users")


@login_required
@require_POST
def user_disable(request: HttpRequest, userid: str) -> HttpResponse:
    def disable(**kwargs) -> None:
        services.tenant_user_set_enabled(enabled=False, **kwargs)

    return _user_action(request, userid, disable, _("%(userid)s is disabled."))


@login_required
@require_POST
def user_enable(request: HttpRequest, userid: str) -> HttpResponse:
    def enable(**kwargs) -> None:
        services.tenant_user_set_enabled(enabled=True, **kwargs)

    return _user_action(request, userid, enable, _("%(userid)s is enabled."))


@login_required
@require_POST
def user_remove(request: HttpRequest, userid: str) -> HttpResponse:
    return _user_action(request, userid, services.tenant_user_remove, _("%(userid)s is removed."))


# Groups ----------------------------------------------------------------------------------------


def _groups_page(request: HttpRequest, create_form: GroupForm | None = None, status: int = 200):
    tenant = selectors.administered_tenant(request.user)
    users = list(selectors.tenant_users(tenant=tenant))
    groups = [
        {
            "group": group,
            "editable": selectors.group_is_editable(tenant=tenant, group=group),
            "form": MembersForm(
                users=users,
                initial={"members": [member.username for member in group.members.all()]},
                prefix=group.name,
            ),
        }
        for group in selectors.tenant_groups(tenant=tenant)
    ]
    return render(
        request,
        "tenantadmin/groups.html",
        {
            "tenant": tenant,
            "groups": groups,
            "create_form": create_form or GroupForm(users=users),
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def group_list(request: HttpRequest) -> HttpResponse:
    return _groups_page(request)


@login_required
@require_POST
def group_create(request: HttpRequest) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    form = GroupForm(request.POST, users=list(selectors.tenant_users(tenant=tenant)))
    if form.is_valid():
        try:
            group = services.tenant_group_create(
                tenant=tenant, actor=request.user, **form.cleaned_data
            )
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("Group %(name)s created.") % {"name": group.name})
            return redirect("tenantadmin:groups")
    return _groups_page(request, form, status=400)


@login_required
@require_POST
def group_members(request: HttpRequest, name: str) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    form = MembersForm(request.POST, users=list(selectors.tenant_users(tenant=tenant)), prefix=name)
    try:
        if not form.is_valid():
            raise ValidationError(_("Choose members from the list."))
        services.tenant_group_set_members(
            tenant=tenant, actor=request.user, name=name, members=form.cleaned_data["members"]
        )
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("Members of %(name)s saved.") % {"name": name})
    return redirect("tenantadmin:groups")


@login_required
@require_POST
def group_remove(request: HttpRequest, name: str) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    try:
        services.tenant_group_remove(tenant=tenant, actor=request.user, name=name)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("Group %(name)s removed.") % {"name": name})
    return redirect("tenantadmin:groups")


# Permissions -----------------------------------------------------------------------------------


def grant_form(request: HttpRequest, tenant, paths: list[str], data=None) -> GrantForm:
    """The grant form over the `paths` the actor may change, offering the roles grantable on
    the first path of each kind (pool, guest, storage); the services check the chosen path."""
    actor = request.user
    grantable = [path for path in paths if selectors.may_modify_permissions(actor, path)]
    first_of_kind = {path.split("/")[1]: path for path in reversed(grantable)}
    roles = {
        role.name
        for path in first_of_kind.values()
        for role in selectors.grantable_roles(actor, path)
    }
    return GrantForm(
        data,
        paths=grantable,
        users=list(selectors.tenant_users(tenant=tenant)),
        groups=list(selectors.tenant_groups(tenant=tenant)),
        tokens=list(selectors.tenant_tokens(tenant=tenant)),
        roles=sorted(roles),
    )


def _permissions_page(request: HttpRequest, form: GrantForm | None = None, status: int = 200):
    tenant = selectors.administered_tenant(request.user)
    paths = selectors.tenant_acl_paths(tenant=tenant)
    entries = selectors.tenant_acl_entries(tenant=tenant, paths=paths)
    return render(
        request,
        "tenantadmin/permissions.html",
        {
            "tenant": tenant,
            "entries": [
                {
                    "entry": entry,
                    "revocable": selectors.may_modify_permissions(request.user, entry.path),
                }
                for entry in entries
            ],
            "grant_form": form or grant_form(request, tenant, paths),
            "roles": selectors.described_roles(),
        },
        status=status,
    )


@never_cache
@login_required
@require_GET
def permission_list(request: HttpRequest) -> HttpResponse:
    return _permissions_page(request)


@login_required
@require_POST
def permission_grant(request: HttpRequest) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    form = grant_form(request, tenant, selectors.tenant_acl_paths(tenant=tenant), request.POST)
    if form.is_valid():
        try:
            services.tenant_acl_grant(
                tenant=tenant,
                actor=request.user,
                path=form.cleaned_data["path"],
                role=form.cleaned_data["role"],
                propagate=form.cleaned_data["propagate"],
                **form.subject_kwargs(),
            )
        except (ValidationError, PermissionDenied) as error:
            form.add_error(None, error_text(error))
        else:
            messages.success(request, _("Permission granted."))
            return redirect("tenantadmin:permissions")
    return _permissions_page(request, form, status=400)


@login_required
@require_POST
def permission_revoke(request: HttpRequest, entry_id: int) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    entry = selectors.tenant_acl_entry_get(tenant=tenant, entry_id=entry_id)
    try:
        services.tenant_acl_revoke(tenant=tenant, actor=request.user, entry=entry)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, error_text(error))
    else:
        messages.success(request, _("Permission revoked."))
    return redirect("tenantadmin:permissions")


# Audit -----------------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    tenant = selectors.administered_tenant(request.user)
    events = selectors.tenant_audit_events(tenant=tenant)
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tenantadmin/audit.html", {"tenant": tenant, "page": page})
