"""Operation pages: the tenant's live task panel, one operation with its PVE task logs, cancelling
one, the small JSON endpoint pages poll when the websocket cannot bring events
(static/portal/live.js), and the rows of the task panel at the bottom of every page
(static/operations/task-panel.js)."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.operations import services
from apps.operations.models import Operation
from apps.operations.progress import progress_event
from apps.operations.selectors import operation_get, operation_list
from apps.web.templatetags.portal import operation_class, operation_label

PAGE_SIZE = 50
# As many as PVE's task panel shows at a glance; the operations page has the rest.
TASK_PANEL_ROWS = 10
# A page follows at most this many operations by polling.
LIVE_MAX = 100
FILTERS = {
    "": None,
    "active": ("pending", "running"),
    "errors": ("failed", "cancelled"),
}


def live_event(operation: Operation) -> dict[str, object]:
    """progress_event plus what the page shows: the state's label and badge colour."""
    return {
        **progress_event(operation),
        "state_label": str(operation.get_state_display()),
        "state_class": operation_class(operation.state),
    }


@never_cache
@login_required
@require_GET
def operation_panel(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("show", "")
    operations = operation_list(actor=request.user)
    if FILTERS.get(shown):
        operations = operations.filter(state__in=FILTERS[shown])
    page = Paginator(operations, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "shown": shown if shown in FILTERS else "", "operations": page}
    if request.GET.get("fragment"):
        # The table alone: what the live panel swaps in to show new operations.
        return render(request, "operations/_operation_table.html", context)
    return render(request, "operations/operation_list.html", context)


@never_cache
@login_required
@require_GET
def operation_task_panel(request: HttpRequest) -> HttpResponse:
    """The latest operations the user may see, newest first: fetched by the task panel after the
    page has loaded (so no page pays for it) and again when the websocket reports a change."""
    operations = operation_list(actor=request.user)[:TASK_PANEL_ROWS]
    return render(request, "operations/_task_panel.html", {"operations": operations})


@never_cache
@login_required
@require_GET
def operation_detail(request: HttpRequest, operation_id: str) -> HttpResponse:
    operation = operation_get(actor=request.user, operation_id=operation_id)
    return render(request, "operations/operation_detail.html", {"operation": operation})


@never_cache
@login_required
@require_GET
def operation_live(request: HttpRequest) -> JsonResponse:
    """The current state of the operations named by `id` (those the user may see)."""
    wanted = []
    for value in request.GET.getlist("id")[:LIVE_MAX]:
        try:
            wanted.append(str(uuid.UUID(value)))
        except ValueError:
            continue
    operations = operation_list(actor=request.user).filter(pk__in=wanted) if wanted else []
    return JsonResponse({"operations": [live_event(op) for op in operations]})


@login_required
@require_POST
def operation_cancel(request: HttpRequest, operation_id: uuid.UUID) -> HttpResponse:
    """Cancel as the REST API does; back to the page the button was on."""
    operation = operation_get(actor=request.user, operation_id=str(operation_id))
    try:
        services.operation_cancel(operation=operation, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, "; ".join(getattr(error, "messages", None) or [str(error)]))
    else:
        messages.success(
            request,
            _("Cancelling %(operation)s.") % {"operation": operation_label(operation.kind)},
        )
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("operations:detail", args=[operation.pk])
    return redirect(back)
