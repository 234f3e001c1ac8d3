"""Pages that span apps: the dashboard."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from apps.guests.views import can_create, tenant_read_only_reason
from apps.operations.selectors import operation_list
from apps.web.selectors import guests_by_status, tenant_usage

RECENT_OPERATIONS = 10


@never_cache
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Quota usage (a tenant's users), guests by state and the latest operations."""
    user = request.user
    tenant = user.tenant
    by_status = guests_by_status(actor=user)
    return render(
        request,
        "web/home.html",
        {
            "tenant": tenant,
            "usage": tenant_usage(tenant=tenant) if tenant is not None else None,
            "by_status": by_status,
            "guest_total": sum(by_status.values()),
            "operations": operation_list(actor=user)[:RECENT_OPERATIONS],
            "can_create": can_create(user),
            "read_only_reason": tenant_read_only_reason(user, tenant),
        },
    )
