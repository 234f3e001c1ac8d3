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
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from apps.clusters.services import client_for
from apps.operations.models import Operation, Step
from apps.operations.progress import progress_publish
from apps.operations.signals import operation_finished
from apps.proxmox.errors import ProxmoxError
from apps.proxmox.tasks import task_stop

MAX_RETRIES = 5
# A message may fire this much before the next look it was scheduled for (clock rounding).
EARLY_TOLERANCE = timedelta(milliseconds=10)
# Set in `params` while a failed or cancelled operation runs its cleanup steps: how it will end
# ("as") and where its cleanup steps begin ("from"); the steps it did not get to are skipped.
ENDING = "ending"
# Step parameters with this suffix are encrypted secrets, dropped when the operation ends.
SECRET_SUFFIX = "_encrypted"  # noqa: S105 (a name suffix, not a secret)

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
Undo = Callable[[Operation], list[tuple[str, dict]]]
_HANDLERS: dict[str, StepHandler] = {}
_FINISHERS: dict[str, Finisher] = {}
_UNDOS: dict[str, Undo] = {}


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


def on_failure(kind: str) -> Callable[[Undo], Undo]:
    """`undo(operation)` names the steps that clean up after a failed or cancelled operation of
    this kind (destroy what a create made on PVE). They are added to the operation and run like
    any step, recorded, polled and retried, before it ends and its finisher runs."""

    def register(undo: Undo) -> Undo:
        _UNDOS[kind] = undo
        return undo

    return register


def poll_seconds() -> float:
    return settings.OPERATIONS_POLL_SECONDS


def claim_lease() -> timedelta:
    return timedelta(seconds=settings.OPERATIONS_CLAIM_LEASE_SECONDS)


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
    # Secrets a step needed (a new guest's password) are not kept past the operation.
    for params in operation.params.get("steps", []):
        for key in [key for key in params if key.endswith(SECRET_SUFFIX)]:
            del params[key]
    with transaction.atomic():
        operation.save(update_fields=["state", "error", "finished_at", "next_check_at", "params"])
        # Listeners (billing's events and usage history) must not keep the operation open.
        for receiver, outcome in operation_finished.send_robust(Operation, operation=operation):
            if isinstance(outcome, Exception):
                logger.error("%s failed on operation %s: %r", receiver, operation.pk, outcome)
    progress_publish(operation)


def _schedule(operation: Operation, seconds: float) -> float:
    operation.next_check_at = timezone.now() + timedelta(seconds=seconds)
    operation.save(update_fields=["next_check_at", "attempts"])
    return seconds


def _claim(operation_id: str) -> bool:
    """Only one worker advances an operation at a time (duplicate or redelivered messages), and
    only once it is due: a copy of a message (the stalled sweep's, a redelivery) arriving after
    another copy already ran and set the next look is dropped, so copies never multiply. A
    cancel does not wait (unless the operation is already cleaning up)."""
    now = timezone.now()
    due = (
        Q(next_check_at__isnull=True)
        | Q(next_check_at__lte=now + EARLY_TOLERANCE)
        | (~Q(cancel_requested_by="") & ~Q(params__has_key=ENDING))
    )
    return bool(
        Operation.objects.filter(pk=operation_id)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(due)
        .update(claimed_until=now + claim_lease())
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
        return _cancel(operation)
    if operation.state == Operation.State.PENDING:
        operation.state, operation.started_at = Operation.State.RUNNING, timezone.now()
        operation.save(update_fields=["state", "started_at"])
        progress_publish(operation)
    step_params = operation.params.get("steps", [])
    ending = operation.params.get(ENDING)
    to_run = operation.steps.filter(state__in=(Step.State.PENDING, Step.State.RUNNING))
    if ending:
        to_run = to_run.filter(position__gte=ending["from"])
    for step in to_run.order_by("position"):
        if _cancel_requested(operation):
            return _cancel(operation)
        handler = _HANDLERS[step.name]
        before = (step.state, step.upid)
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
            if (step.state, step.upid) != before:  # its PVE task started: pages show the UPID
                progress_publish(operation)
            return _schedule(operation, result.seconds)
        step.finished_at = timezone.now()
        if isinstance(result, Fail):
            step.state = Step.State.FAILED
            step.save()
            return _fail(operation, Operation.State.FAILED, result.reason)
        step.state = Step.State.DONE
        step.save()
        progress_publish(operation)
    if ending:
        _finish(operation, ending["as"], operation.error)
    else:
        _finish(operation, Operation.State.SUCCEEDED)
    return None


def _fail(operation: Operation, state: Operation.State, reason: str) -> float | None:
    """End a failed or cancelled operation: first the cleanup steps its kind asks for (see
    `on_failure`), then the finisher. A failing cleanup step ends it with both reasons."""
    ending = operation.params.get(ENDING)
    if ending:
        _finish(operation, ending["as"], f"{operation.error}; cleanup failed: {reason}")
        return None
    undo = _UNDOS.get(operation.kind)
    try:
        steps = undo(operation) if undo is not None else []
    except Exception:  # the operation still ends, with its own reason
        logger.exception("planning the cleanup of operation %s failed", operation.pk)
        steps = []
    if not steps:
        _finish(operation, state, reason)
        return None
    with transaction.atomic():
        first = (operation.steps.aggregate(last=Max("position"))["last"] or 0) + 1
        params = list(operation.params.get("steps", []))
        params += [{}] * (first - len(params)) + [step_params for _name, step_params in steps]
        Step.objects.bulk_create(
            Step(operation=operation, position=first + offset, name=name)
            for offset, (name, _params) in enumerate(steps)
        )
        ending = {"as": str(state), "from": first}
        operation.params = {**operation.params, "steps": params, ENDING: ending}
        operation.error, operation.attempts = reason, 0  # the cleanup gets its own retries
        operation.save(update_fields=["params", "error", "attempts"])
    progress_publish(operation)
    return _advance(operation)


def _cancel_requested(operation: Operation) -> bool:
    """Looked up before every step: a cancel must not wait for the whole operation. An
    operation already cleaning up after a failure has nothing left to cancel."""
    if operation.params.get(ENDING):
        return False
    requested_by = (
        Operation.objects.filter(pk=operation.pk)
        .values_list("cancel_requested_by", flat=True)
        .get()
    )
    if requested_by:
        operation.cancel_requested_by = requested_by
    return bool(requested_by)


def _cancel(operation: Operation) -> float | None:
    """Abort the PVE task of the running step (if any), then end as cancelled, cleaning up as
    after a failure."""
    running = operation.steps.filter(state=Step.State.RUNNING).first()
    if running is not None:
        if running.upid:
            try:
                task_stop(client_for(operation.cluster), running.upid)
            except ProxmoxError as error:  # it may have just ended; cancelling goes on
                logger.warning("stopping task %s failed: %s", running.upid, error.message)
        running.state, running.finished_at = Step.State.FAILED, timezone.now()
        running.save(update_fields=["state", "finished_at"])
    return _fail(
        operation, Operation.State.CANCELLED, f"cancelled by {operation.cancel_requested_by}"
    )


def operations_stalled(*, now: timezone.datetime, grace: timedelta) -> list[str]:
    """Pending or running operations whose next look is overdue (their message was lost, or
    the worker died holding them)."""
    return [
        str(pk)
        for pk in Operation.objects.exclude(state__in=Operation.TERMINAL_STATES)
        .filter(next_check_at__lt=now - grace)
        .values_list("pk", flat=True)
    ]
