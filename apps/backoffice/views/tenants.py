"""Tenants (with suspend and unsuspend through the guests app's services), plans and the
template catalogue."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.backoffice.access import operator_required
from apps.backoffice.forms import TenantFilterForm, valid_filters
from apps.backoffice.selectors import tenants
from apps.backoffice.views.paging import query_without_page
from apps.guests.services import tenant_suspend, tenant_unsuspend
from apps.tenancy.models import Tenant

PAGE_SIZE = 50


@operator_required
@never_cache
@require_GET
def tenant_list(request: HttpRequest) -> HttpResponse:
    form = TenantFilterForm(request.GET)
    page = Paginator(tenants.tenant_list(**valid_filters(form)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    usage = tenants.tenants_usage(tenants=list(page.object_list))
    rows = [(tenant, usage[tenant.pk]) for tenant in page.object_list]
    return render(
        request,
        "backoffice/tenants.html",
        {"form": form, "page": page, "rows": rows, "filters": query_without_page(request)},
    )


@operator_required
@require_POST
def tenant_suspend_view(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = get_object_or_404(Tenant, slug=slug)
    try:
        stops = tenant_suspend(tenant=tenant, actor=request.user)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(tenant)s suspended, %(count)d guests stopping.")
            % {"tenant": tenant.slug, "count": len(stops)},
        )
    return redirect("backoffice:tenants")


@operator_required
@require_POST
def tenant_unsuspend_view(request: HttpRequest, slug: str) -> HttpResponse:
    tenant = get_object_or_404(Tenant, slug=slug)
    try:
        tenant_unsuspend(tenant=tenant, actor=request.user)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, _("%(tenant)s unsuspended.") % {"tenant": tenant.slug})
    return redirect("backoffice:tenants")


@operator_required
@never_cache
@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    return render(request, "backoffice/plans.html", {"plans": tenants.plan_list()})


@operator_required
@never_cache
@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    cluster = request.GET.get("cluster", "")
    return render(
        request,
        "backoffice/catalogue.html",
        {"catalogue": tenants.catalogue(cluster=cluster), "cluster": cluster},
    )
