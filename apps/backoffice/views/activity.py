"""Operations (filters, cancel and retry through the operations services) and the audit log."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.backoffice.access import operator_required
from apps.backoffice.forms import AuditFilterForm, OperationFilterForm, valid_filters
from apps.backoffice.selectors import activity
from apps.backoffice.views.paging import query_without_page
from apps.operations.models import Operation
from apps.operations.services import operation_cancel, operation_retry

PAGE_SIZE = 50


@operator_required
@never_cache
@require_GET
def operation_list(request: HttpRequest) -> HttpResponse:
    form = OperationFilterForm(request.GET)
    page = Paginator(activity.operation_search(**valid_filters(form)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [(operation, activity.may_offer_retry(operation)) for operation in page.object_list]
    return render(
        request,
        "backoffice/operations.html",
        {"form": form, "page": page, "rows": rows, "filters": query_without_page(request)},
    )


def _back_to_list(request: HttpRequest) -> HttpResponse:
    """To the filtered list the button was on."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("backoffice:operations")


def _operation_action(request: HttpRequest, operation_id: str, action, done: str):
    operation = get_object_or_404(Operation, pk=operation_id)
    try:
        action(operation=operation, actor=request.user)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, "; ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, done % {"kind": operation.kind, "target": operation.target})
    return _back_to_list(request)


@operator_required
@require_POST
def operation_cancel_view(request: HttpRequest, operation_id: str) -> HttpResponse:
    return _operation_action(
        request, operation_id, operation_cancel, _("Cancelling %(kind)s of %(target)s.")
    )


@operator_required
@require_POST
def operation_retry_view(request: HttpRequest, operation_id: str) -> HttpResponse:
    return _operation_action(
        request, operation_id, operation_retry, _("%(kind)s of %(target)s queued again.")
    )


@operator_required
@never_cache
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    page = Paginator(activity.audit_search(**valid_filters(form)), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "backoffice/audit.html",
        {"form": form, "page": page, "filters": query_without_page(request)},
    )
