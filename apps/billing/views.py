"""The billing webhook endpoints: signed by the integration's key, no session, no CSRF."""

import json

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.billing.events import event_receive
from apps.billing.selectors import (
    event_get,
    event_status,
    integration_signed,
    integration_stripe_signed,
)
from apps.billing.signing import SIGNATURE_HEADER, SignatureError
from apps.billing.stripe_events import STRIPE_HANDLERS


def _refused(status: int, error: str) -> JsonResponse:
    return JsonResponse({"result": "refused", "error": error}, status=status)


@csrf_exempt
@require_POST
def webhook_receive(request: HttpRequest) -> JsonResponse:
    try:
        integration = integration_signed(
            header=request.headers.get(SIGNATURE_HEADER, ""), content=request.body
        )
    except SignatureError as error:
        return _refused(401, str(error))
    try:
        payload = json.loads(request.body)
    except ValueError:
        return _refused(400, _("the body is not JSON"))
    if not isinstance(payload, dict) or not str(payload.get("id") or ""):
        return _refused(400, _("an event is an object with an id"))
    if len(str(payload["id"])) > 255:
        return _refused(400, _("an event id has at most 255 characters"))
    answer = event_receive(integration=integration, body=request.body, payload=payload)
    response = JsonResponse(answer.body, status=answer.status)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


@require_GET
def webhook_status(request: HttpRequest, event_id: str) -> JsonResponse:
    """Signed like a webhook, over the request path (a GET has no body)."""
    try:
        integration = integration_signed(
            header=request.headers.get(SIGNATURE_HEADER, ""),
            content=request.get_full_path().encode(),
        )
    except SignatureError as error:
        return _refused(401, str(error))
    event = event_get(integration=integration, event_id=event_id)
    if event is None:
        return _refused(404, _("no such event"))
    return JsonResponse(event_status(event))


@csrf_exempt
@require_POST
def stripe_receive(request: HttpRequest) -> JsonResponse:
    """Stripe's webhook: verified with the integration's Stripe signing secret, stored and acted
    on once per event id. Types the portal does not act on are acknowledged (200), so Stripe
    stops sending them; a refusal is answered 4xx and Stripe's retries get the same answer."""
    try:
        integration = integration_stripe_signed(
            header=request.headers.get("Stripe-Signature", ""), body=request.body
        )
    except SignatureError as error:
        return _refused(401, str(error))
    try:
        payload = json.loads(request.body)
    except ValueError:
        return _refused(400, _("the body is not JSON"))
    if not isinstance(payload, dict) or not str(payload.get("id") or ""):
        return _refused(400, _("an event is an object with an id"))
    if payload.get("type") not in STRIPE_HANDLERS:
        return JsonResponse({"event": payload["id"], "result": "ignored"}, status=200)
    answer = event_receive(
        integration=integration, body=request.body, payload=payload, handlers=STRIPE_HANDLERS
    )
    response = JsonResponse(answer.body, status=answer.status)
    if answer.replayed:
        response["Idempotent-Replayed"] = "true"
    return response
