"""The runner under faults: a failed or cancelled operation runs its cleanup steps (recorded,
retried) before it ends; copies of a message never run an operation before it is due; the
stalled sweep's grace comes from the settings."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.services import Actor
from apps.clusters.models import Cluster
from apps.operations.models import Operation
from apps.operations.runner import (
    Done,
    Fail,
    on_failure,
    on_finish,
    operation_advance,
    step_handler,
)
from apps.operations.services import operation_create
from apps.operations.tasks import resume_stalled
from apps.proxmox.errors import ProxmoxUnavailable
from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db

ran: list[str] = []
seen_at_finish: list[tuple[str, list[tuple[str, str]]]] = []
flaky_left: dict[str, int] = {}


@step_handler("cleanup_test_ok")
def ok(*, operation, step, params):
    ran.append(f"{params['label']}")
    return Done()


@step_handler("cleanup_test_fails")
def fails(*, operation, step, params):
    ran.append(f"{params['label']}")
    return Fail(params["reason"])


@step_handler("cleanup_test_flaky")
def flaky(*, operation, step, params):
    """PVE unreachable the first time: retried like any step."""
    ran.append(f"{params['label']}")
    key = str(operation.pk)
    flaky_left.setdefault(key, 1)
    if flaky_left[key]:
        flaky_left[key] -= 1
        raise ProxmoxUnavailable("node down")
    return Done()


@on_failure("cleanup_test.kind")
def undo(operation):
    return [("cleanup_test_flaky", {"label": "undo-1"}), ("cleanup_test_ok", {"label": "undo-2"})]


@on_failure("cleanup_test.failing_undo")
def failing_undo(operation):
    return [("cleanup_test_fails", {"label": "undo", "reason": "cannot undo"})]


@on_finish("cleanup_test.kind")
def finish(operation):
    steps = list(operation.steps.values_list("name", "state"))
    seen_at_finish.append((operation.state, steps))


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.OPERATIONS_POLL_SECONDS = 0  # retries are due at once
    ran.clear()
    seen_at_finish.clear()
    yield
    celery_app.control.purge()


@pytest.fixture
def cluster() -> Cluster:
    return Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )


def make(cluster: Cluster, kind: str, *steps: tuple[str, dict]) -> Operation:
    return operation_create(
        kind=kind, cluster=cluster, target="/", actor=Actor.system(), steps=list(steps)
    )


def run(operation: Operation) -> Operation:
    for _look in range(20):
        operation_advance(operation_id=str(operation.pk))
        operation.refresh_from_db()
        if operation.is_terminal:
            return operation
    raise AssertionError("the operation did not end")


def test_a_failed_operation_runs_its_cleanup_steps_then_ends_with_its_own_reason(
    cluster,
) -> None:
    operation = make(
        cluster,
        "cleanup_test.kind",
        ("cleanup_test_ok", {"label": "first"}),
        ("cleanup_test_fails", {"label": "second", "reason": "PVE said no"}),
        ("cleanup_test_ok", {"label": "never"}),
    )

    operation = run(operation)

    assert (operation.state, operation.error) == ("failed", "PVE said no")
    assert ran == ["first", "second", "undo-1", "undo-1", "undo-2"]  # undo-1 retried once
    # The finisher ran after the cleanup; the step the failure cut off stays pending.
    assert seen_at_finish == [
        (
            "failed",
            [
                ("cleanup_test_ok", "done"),
                ("cleanup_test_fails", "failed"),
                ("cleanup_test_ok", "pending"),
                ("cleanup_test_flaky", "done"),
                ("cleanup_test_ok", "done"),
            ],
        )
    ]


def test_a_cleanup_that_fails_ends_the_operation_with_both_reasons(cluster) -> None:
    operation = make(
        cluster,
        "cleanup_test.failing_undo",
        ("cleanup_test_fails", {"label": "create", "reason": "clone failed"}),
    )

    operation = run(operation)

    assert (operation.state, operation.error) == (
        "failed",
        "clone failed; cleanup failed: cannot undo",
    )
    assert ran == ["create", "undo"]


def test_a_cancelled_operation_cleans_up_and_ends_cancelled(cluster) -> None:
    operation = make(
        cluster,
        "cleanup_test.kind",
        ("cleanup_test_ok", {"label": "never"}),
    )
    Operation.objects.filter(pk=operation.pk).update(cancel_requested_by="alice@pve")

    operation = run(operation)

    assert (operation.state, operation.error) == ("cancelled", "cancelled by alice@pve")
    assert ran == ["undo-1", "undo-1", "undo-2"]


def test_a_copy_of_a_message_that_comes_before_the_next_look_is_dropped(cluster) -> None:
    operation = make(cluster, "cleanup_test.none", ("cleanup_test_ok", {"label": "ran"}))
    # Another copy already ran it and scheduled the next look (the sweep's copy, a redelivery).
    later = timezone.now() + timedelta(minutes=1)
    Operation.objects.filter(pk=operation.pk).update(next_check_at=later)

    assert operation_advance(operation_id=str(operation.pk)) is None
    assert ran == []
    Operation.objects.filter(pk=operation.pk).update(cancel_requested_by="alice@pve")
    operation_advance(operation_id=str(operation.pk))  # a cancel does not wait for it
    operation.refresh_from_db()
    assert operation.state == "cancelled"


def test_the_stalled_sweep_waits_the_grace_the_settings_give(cluster, settings) -> None:
    settings.OPERATIONS_STALLED_GRACE_SECONDS = 30
    operation = make(cluster, "cleanup_test.none", ("cleanup_test_ok", {"label": "ran"}))
    Operation.objects.filter(pk=operation.pk).update(
        next_check_at=timezone.now() - timedelta(seconds=20)
    )
    assert resume_stalled() == []
    settings.OPERATIONS_STALLED_GRACE_SECONDS = 10
    assert resume_stalled() == [str(operation.pk)]


def test_the_sweep_sends_a_slow_operation_one_copy_per_grace_period(cluster, settings) -> None:
    """A busy worker's queue is long; sweeping every minute must not add a copy every minute."""
    settings.OPERATIONS_STALLED_GRACE_SECONDS = 10
    operation = make(cluster, "cleanup_test.none", ("cleanup_test_ok", {"label": "ran"}))
    Operation.objects.filter(pk=operation.pk).update(
        next_check_at=timezone.now() - timedelta(seconds=20)
    )

    assert resume_stalled() == [str(operation.pk)]
    assert resume_stalled() == []  # its copy is still on its way
    operation_advance(operation_id=str(operation.pk))  # the copy arrives: due, it runs
    assert ran == ["ran"]
