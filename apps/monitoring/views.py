"""GET /metrics: Prometheus' text format."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from apps.monitoring.access import scrape_allowed
from apps.monitoring.registries import web_registry


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request):
        return HttpResponse(status=403)
    return HttpResponse(generate_latest(web_registry()), content_type=CONTENT_TYPE_LATEST)
