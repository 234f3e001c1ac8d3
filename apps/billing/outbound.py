"""The portal's own events to integrations: recorded with the change they report (an outbox),
delivered after commit, signed like inbound webhooks, retried with exponential back-off until
the endpoint answers 2xx (at least once: a receiver deduplicates by the event's id)."""

import datetime
import json
import uuid

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.billing.models import Customer, Delivery, Integration, OutboundEvent, Service
from apps.billing.signing import SIGNATURE_HEADER, sign
from apps.tenancy.models import Tenant

USER_AGENT = "pve-portal-events/1"


def _recipients(tenant: Tenant | None) -> list[Integration]:
    """Integrations with an endpoint that bill the tenant: one integration never hears of
    another's customers."""
    if tenant is None:
        return []
    return list(
        Integration.objects.filter(active=True, customers__tenant=tenant)
        .exclude(endpoint_url="")
        .distinct()
    )


def _references(integration: Integration, event: OutboundEvent) -> dict:
    """The integration's own ids of the tenant and the guest, where it has them."""
    references: dict[str, str] = {}
    customer = Customer.objects.filter(integration=integration, tenant_id=event.tenant_id).first()
    if customer is not None:
        references["customer"] = customer.external_id
    vmid = event.data.get("vmid")
    if vmid is not None:
        service = (
            Service.objects.filter(integration=integration, vmid=vmid)
            .order_by("-created_at")
            .first()
        )
        if service is not None:
            references["service"] = service.external_id
    return references


def delivery_body(integration: Integration, event: OutboundEvent) -> str:
    return json.dumps(
        {
            "id": event.event_id,
            "type": event.type,
            "created": int(event.created.timestamp()),
            "data": {**event.data, **_references(integration, event)},
        },
        separators=(",", ":"),
        sort_keys=True,
    )


def event_emit(
    *, type_: str, tenant: Tenant | None, data: dict, event_id: str | None = None
) -> OutboundEvent | None:
    """Record the event and one delivery per recipient in the current transaction; they are
    sent once it commits. A given `event_id` is emitted once (e.g. one usage event per tenant
    and hour): a second call returns None."""
    event_id = event_id or f"evt_{uuid.uuid4().hex}"
    with transaction.atomic():
        event, created = OutboundEvent.objects.get_or_create(
            event_id=event_id,
            defaults={"type": type_, "tenant": tenant, "data": data, "created": timezone.now()},
        )
        if not created:
            return None
        deliveries = Delivery.objects.bulk_create(
            Delivery(
                event=event,
                integration=integration,
                url=integration.endpoint_url,
                body=delivery_body(integration, event),
                next_attempt_at=event.created,
            )
            for integration in _recipients(tenant)
        )
    for delivery in deliveries:
        _enqueue_after_commit(delivery.pk)
    return event


def _enqueue_after_commit(delivery_id: int, countdown: float = 0) -> None:
    from apps.billing.tasks import deliver

    transaction.on_commit(lambda: deliver.apply_async((delivery_id,), countdown=countdown))


def backoff_seconds(attempts: int) -> float:
    """How long to wait after the `attempts`-th failed attempt: doubling from the base, capped."""
    base = settings.BILLING_DELIVERY_BACKOFF_SECONDS
    return min(base * 2 ** (attempts - 1), settings.BILLING_DELIVERY_BACKOFF_MAX_SECONDS)


def _signing_key(integration: Integration) -> str | None:
    key = integration.keys.filter(active=True).order_by("-created_at").first()
    return key.secret if key is not None else None


def _post(delivery: Delivery) -> tuple[int | None, str]:
    """(status code, error); the code is None when no answer came."""
    key = _signing_key(delivery.integration)
    if key is None:
        return None, "the integration has no active key to sign with"
    body = delivery.body.encode()
    try:
        response = requests.post(
            delivery.url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign(key=key, content=body),
            },
            timeout=settings.BILLING_DELIVERY_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return None, f"{type(error).__name__}: {error}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, ""
    return response.status_code, f"answered {response.status_code}: {response.text[:500]}"


def delivery_attempt(*, delivery_id: int) -> float | None:
    """Send the delivery once, unless it is no longer pending. Seconds until the next attempt
    after a failure; None when there is none (delivered, given up, or not pending)."""
    with transaction.atomic():
        # One attempt at a time: a duplicate message waits here, then finds it delivered.
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("integration")
            .filter(pk=delivery_id, state=Delivery.State.PENDING)
            .first()
        )
        if delivery is None:
            return None
        status, error = _post(delivery)
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = status, error
        delivery.last_attempt_at = now
        countdown = None
        if not error:
            delivery.state, delivery.delivered_at, delivery.next_attempt_at = (
                Delivery.State.DELIVERED,
                now,
                None,
            )
        elif delivery.attempts >= settings.BILLING_DELIVERY_MAX_ATTEMPTS:
            delivery.state, delivery.next_attempt_at = Delivery.State.FAILED, None
        else:
            countdown = backoff_seconds(delivery.attempts)
            delivery.next_attempt_at = now + datetime.timedelta(seconds=countdown)
        delivery.save()
    return countdown


def deliveries_overdue(*, now: datetime.datetime | None = None) -> list[int]:
    """Pending deliveries whose retry message is long overdue (lost with a worker or broker):
    the sweep sends them again, so every event is delivered at least once."""
    now = now or timezone.now()
    grace = datetime.timedelta(seconds=settings.BILLING_DELIVERY_OVERDUE_SECONDS)
    return list(
        Delivery.objects.filter(state=Delivery.State.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=now - grace))
        .values_list("pk", flat=True)
    )


def deliveries_replay(*, deliveries: list[Delivery]) -> int:
    """Send the deliveries again now (an operator's replay), delivered or not. Attempts keep
    counting: one that had used them all up gets this one attempt. The event keeps its id, so
    the receiver can tell it is a repeat."""
    ids = [delivery.pk for delivery in deliveries]
    with transaction.atomic():
        Delivery.objects.filter(pk__in=ids).update(
            state=Delivery.State.PENDING, next_attempt_at=timezone.now()
        )
        for delivery_id in ids:
            _enqueue_after_commit(delivery_id)
    return len(ids)
