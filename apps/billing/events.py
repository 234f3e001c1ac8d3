"""Receiving an event: store it, then act on it once. The same event id always gets the same
answer: the first delivery's answer is stored with the event and every later delivery, even
one racing with the first, reads it instead of acting again."""

import datetime
import hashlib
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.access.exceptions import AccessDenied
from apps.audit.services import audit_record
from apps.billing.contract import (
    HANDLERS,
    Handler,
    InvalidEvent,
    Outcome,
    UnknownService,
    billing_actor,
)
from apps.billing.models import BillingEvent, Integration
from apps.tenancy.services import QuotaExceeded

SECRET_FIELDS = ("password",)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    replayed: bool = False


def _redacted(value: object) -> object:
    """The payload as stored: passwords never reach the event log."""
    if isinstance(value, dict):
        return {
            key: "***" if key in SECRET_FIELDS and item else _redacted(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redacted(item) for item in value]
    return value


def _sent_at(created: object) -> datetime.datetime | None:
    if isinstance(created, int | float) and not isinstance(created, bool):
        return datetime.datetime.fromtimestamp(created, tz=datetime.UTC)
    return None


def _stored(*, integration: Integration, payload: dict, digest: str) -> BillingEvent:
    """The event row, committed before anything is done about it. A racing duplicate's insert
    fails the unique constraint (on PostgreSQL it waits for the first to commit) and reads
    the first one's row."""
    try:
        with transaction.atomic():
            event = BillingEvent.objects.create(
                integration=integration,
                event_id=str(payload["id"]),
                type=str(payload.get("type", "")),
                created=_sent_at(payload.get("created")),
                payload=_redacted(payload),
                body_sha256=digest,
            )
            audit_record(
                action="billing.event_received",
                actor=billing_actor(integration),
                target=f"{integration.name}:{event.event_id}",
                detail={"type": event.type},
            )
            return event
    except IntegrityError:
        return BillingEvent.objects.get(integration=integration, event_id=str(payload["id"]))


def _act(
    integration: Integration, event: BillingEvent, data: object, handlers: dict[str, Handler]
) -> tuple[int, Outcome, str]:
    """The handler's outcome, or the refusal; a refusal undoes whatever the handler began."""
    handler = handlers.get(event.type)
    if handler is None:
        return 400, Outcome(), _("unknown event type '%(type)s'") % {"type": event.type}
    if not isinstance(data, dict):
        return 400, Outcome(), _("data must be an object")
    try:
        with transaction.atomic():
            return 202, handler(integration=integration, data=data, event=event), ""
    except InvalidEvent as error:
        return 400, Outcome(), str(error)
    except UnknownService as error:
        return 404, Outcome(), str(error)
    except AccessDenied as error:
        return 403, Outcome(), str(error)
    except QuotaExceeded as error:
        return 409, Outcome(), str(error)
    except ValidationError as error:
        return 409, Outcome(), _reason(error)


def _reason(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{name}: {message}"
            for name, messages in error.message_dict.items()
            for message in messages
        )
    return "; ".join(error.messages)


def _answer_body(event: BillingEvent, status: int, outcome: Outcome, error: str) -> dict:
    operations = [str(operation.pk) for operation in outcome.operations]
    return {
        "event": event.event_id,
        "type": event.type,
        "result": "accepted" if status == 202 else "refused",
        "error": error,
        "service": outcome.service.external_id if outcome.service else None,
        "operation": operations[0] if operations else None,
        "operations": operations,
        **outcome.detail,
    }


def event_receive(
    *,
    integration: Integration,
    body: bytes,
    payload: dict,
    handlers: dict[str, Handler] = HANDLERS,
) -> Answer:
    """Store the (verified) event, then act on it unless an earlier delivery already did.
    `handlers` maps event types to what they do: the portal's own, or Stripe's."""
    digest = hashlib.sha256(body).hexdigest()
    event = _stored(integration=integration, payload=payload, digest=digest)
    with transaction.atomic():
        # Deliveries of one event queue here; the first acts, the others read its answer.
        event = BillingEvent.objects.select_for_update().get(pk=event.pk)
        if event.body_sha256 != digest:
            return Answer(
                409,
                {
                    "event": event.event_id,
                    "result": "refused",
                    "error": _("event id already used for a different body"),
                },
            )
        if event.processed_at is not None:
            return Answer(event.answer_status, event.answer, replayed=True)
        status, outcome, error = _act(integration, event, payload.get("data"), handlers)
        event.answer_status = status
        event.answer = _answer_body(event, status, outcome, error)
        event.service = outcome.service
        event.processed_at = timezone.now()
        event.save(update_fields=["answer_status", "answer", "service", "processed_at"])
        audit_record(
            action="billing.event_processed",
            actor=billing_actor(integration),
            target=f"{integration.name}:{event.event_id}",
            detail={"type": event.type, "status": status, "error": error},
        )
    return Answer(status, event.answer)
