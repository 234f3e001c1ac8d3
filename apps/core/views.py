"""Liveness and readiness probes for load balancers and orchestrators."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from apps.core.readiness import run_checks


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests; says nothing about its dependencies."""
    return JsonResponse({"status": "alive"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Every dependency answers: 200 when ready, 503 with the failing checks otherwise."""
    results = run_checks()
    ready = all(result.ok for result in results)
    # The reasons name internal hosts: only operators see them (failures are logged too).
    detailed = request.user.is_authenticated and request.user.is_staff
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {
            result.name: {"ok": result.ok, "ms": result.milliseconds}
            | ({"detail": result.detail} if detailed else {})
            for result in results
        },
    }
    return JsonResponse(body, status=200 if ready else 503)
