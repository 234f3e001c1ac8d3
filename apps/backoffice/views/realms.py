"""Realms: list, test the connection, sync now or as a dry run, with the result on the page."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.backoffice.access import operator_required
from apps.backoffice.services import realm_connection_test, realm_sync_now
from apps.identity.models import Realm
from apps.identity.realms.directory import DirectoryError


def _realms_page(request: HttpRequest, status: int = 200, **result: object) -> HttpResponse:
    realms = Realm.objects.select_related("tenant").order_by("name")
    return render(request, "backoffice/realms.html", {"realms": realms, **result}, status=status)


@operator_required
@never_cache
@require_GET
def realm_list(request: HttpRequest) -> HttpResponse:
    return _realms_page(request)


@operator_required
@require_POST
def realm_test(request: HttpRequest, name: str) -> HttpResponse:
    realm = get_object_or_404(Realm, name=name)
    return _realms_page(request, realm=realm, test=realm_connection_test(realm=realm))


def _sync(request: HttpRequest, name: str, *, dry_run: bool) -> HttpResponse:
    realm = get_object_or_404(Realm, name=name)
    try:
        report = realm_sync_now(realm=realm, actor=request.user, dry_run=dry_run)
    except (ValidationError, DirectoryError) as error:
        reason = "; ".join(getattr(error, "messages", [str(error)]))
        return _realms_page(request, status=400, realm=realm, sync_error=reason)
    return _realms_page(request, realm=realm, report=report)


@operator_required
@require_POST
def realm_sync(request: HttpRequest, name: str) -> HttpResponse:
    return _sync(request, name, dry_run=False)


@operator_required
@require_POST
def realm_dry_run(request: HttpRequest, name: str) -> HttpResponse:
    return _sync(request, name, dry_run=True)
