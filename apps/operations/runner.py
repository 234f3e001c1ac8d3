"""Running operations: each call advances one operation as far as it can without waiting.

Steps are looked up by name in a registry the apps fill (`@step_handler("guest_power")`). A
handler returns `Done`, `Wait(seconds)` (a PVE task is still running: the worker re-schedules
instead of sleeping) or `Fail(reason)`. Handlers must be idempotent: a step that started a PVE
task stores its UPID first, so running it again polls that task instead of starting another.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from apps.clusters.services import client_for
from apps.operations.models import Operation, Step
from apps.proxmox.errors import ProxmoxError
from apps.proxmox.tasks import task_stop

MAX_RETRIES = 5
CLAIM_LEASE = timedelta(minutes=5)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Done:
    pass


@dataclass(frozen=True)
class Wait:
    seconds: float


@dataclass(frozen=True)
class Fail:
    reason: str


StepResult = Done | Wait | Fail
StepHandler = Callable[..., StepResult]
Finisher = Callable[[Operation], None]
_HANDLERS: dict[str, StepHandler] = {}
_FINISHERS: dict[str, Finisher] = {}


def step_handler(name: str) -> Callable[[StepHandler], StepHandler]:
    def register(handler: StepHandler) -> StepHandler:
        _HANDLERS[name] = handler
        return handler

    return register


def on_finish(kind: str) -> Callable[[Finisher], Finisher]:
    """Run `finisher(operation)` once an operation of this kind ends, whatever the outcome
    (release its reservation, clean up a half-made guest)."""

    def register(finisher: Finisher) -> Finisher:
        _FINISHERS[kind] = finisher
        return finisher

    return register


def poll_seconds() -> float:
    return settings.OPERATIONS_POLL_SECONDS


def _finish(operation: Operation, state: Operation.State, error: str = "") -> None:
    """End the operation: its finisher (cleanup, quota release) runs first, so an operation
    seen as terminal has nothing left to do."""
    operation.state, operation.error = state, error
    finisher = _FINISHERS.get(operation.kind)
    if finisher is not None:
        try:
            finisher(operation)
        except Exception as failure:  # the operation must still end, with the reason recorded
            logger.exception("finishing operation %s failed", operation.pk)
            operation.error = f"{operation.error}; finishing failed: {failure}".lstrip("; ")
    operation.finished_at, operation.next_check_at = timezone.now(), None
    operation.save(update_fields=["state", "error", "finished_at", "next_check_at"])


def _schedule(operation: Operation, seconds: float) -> float:
    operation.next_check_at = timezone.now() + timedelta(seconds=seconds)
    operation.save(update_fields=["next_check_at", "attempts"])
    return seconds


def _claim(operation_id: str) -> bool:
    """Only one worker advances an operation at a time (duplicate or redelivered messages)."""
    now = timezone.now()
    return bool(
        Operation.objects.filter(pk=operation_id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE)
    )


def operation_advance(*, operation_id: str) -> float | None:
    """Run the operation's next steps; seconds until it needs another look, or None when done
    (or when another worker holds it: that worker carries on)."""
    if not _claim(operation_id):
        return None
    try:
        return _advance(Operation.objects.select_related("cluster", "guest").get(pk=operation_id))
    finally:
        Operation.objects.filter(pk=operation_id).update(claimed_until=None)


def _advance(operation: Operation) -> float | None:
    if operation.is_terminal:
        return None
    if _cancel_requested(operation):
        return None
    if operation.state == Operation.State.PENDING:
        operation.state, operation.started_at = Operation.State.RUNNING, timezone.now()
        operation.save(update_fields=["state", "started_at"])
    step_params = operation.params.get("steps", [])
    for step in operation.steps.exclude(state=Step.State.DONE).order_by("position"):
        if _cancel_requested(operation):
            return None
        handler = _HANDLERS[step.name]
        try:
            result = handler(operation=operation, step=step, params=step_params[step.position])
        except ProxmoxError as error:
            if error.retryable and operation.attempts < MAX_RETRIES:
                operation.attempts += 1
                return _schedule(operation, poll_seconds() * 2**operation.attempts)
            result = Fail(error.message)
        except ValidationError as error:
            result = Fail("; ".join(error.messages))
        except Exception as error:  # every operation ends terminal, with a reason (rule 6)
            logger.exception("step %s of operation %s failed", step.name, operation.pk)
            result = Fail(f"internal error in step {step.name} ({type(error).__name__})")
        if isinstance(result, Wait):
            return _schedule(operation, result.seconds)
        step.finished_at = timezone.now()
        if isinstance(result, Fail):
            step.state = Step.State.FAILED
            step.save()
            _finish(operation, Operation.State.FAILED, result.reason)
            return None
        step.state = Step.State.DONE
        step.save()
    _finish(operation, Operation.State.SUCCEEDED)
    return None


def _cancel_requested(operation: Operation) -> bool:
    """Looked up before every step: a cancel must not wait for the whole operation."""
    requested_by = (
        Operation.objects.filter(pk=operation.pk)
        .values_list("cancel_requested_by", flat=True)
        .get()
    )
    if requested_by:
        operation.cancel_requested_by = requested_by
        _cancel(operation)
    return bool(requested_by)


def _cancel(operation: Operation) -> None:
    """Abort the PVE task of the running step (if any), then end as cancelled; the finisher
    cleans up as after a failure."""
    running = operation.steps.filter(state=Step.State.RUNNING).exclude(upid="").first()
    if running is not None:
        try:
            task_stop(client_for(operation.cluster), running.upid)
        except ProxmoxError as error:  # it may have just ended; cancelling goes on
            logger.warning("stopping task %s failed: %s", running.upid, error.message)
        running.state, running.finished_at = Step.State.FAILED, timezone.now()
        running.save(update_fields=["state", "finished_at"])
    _finish(operation, Operation.State.CANCELLED, f"cancelled by {operation.cancel_requested_by}")


def operations_stalled(*, now: timezone.datetime, grace: timedelta) -> list[str]:
    """Pending or running operations whose next look is overdue (their message was lost, or
    the worker died holding them)."""
    return [
        str(pk)
        for pk in Operation.objects.exclude(state__in=Operation.TERMINAL_STATES)
        .filter(next_check_at__lt=now - grace)
        .values_list("pk", flat=True)
    ]
