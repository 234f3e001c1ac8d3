"""The runner: every operation ends terminal, one worker at a time, lost messages are found."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.services import Actor
from apps.clusters.models import Cluster
from apps.operations.models import Operation
from apps.operations.runner import Done, operation_advance, operations_stalled, step_handler
from apps.operations.services import operation_create

pytestmark = pytest.mark.django_db

calls: list[str] = []


@step_handler("test_explodes")
def explodes(*, operation, step, params):
    raise KeyError("a bug")


@step_handler("test_counts")
def counts(*, operation, step, params):
    calls.append(str(operation.pk))
    return Done()


@pytest.fixture
def cluster() -> Cluster:
    return Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )


def make(cluster: Cluster, step: str) -> Operation:
    return operation_create(
        kind="test", cluster=cluster, target="/", actor=Actor.system(), steps=[(step, {})]
    )


def test_an_unexpected_error_ends_the_operation_failed_with_a_reason(cluster) -> None:
    operation = make(cluster, "test_explodes")
    assert operation_advance(operation_id=str(operation.pk)) is None
    operation.refresh_from_db()
    assert operation.state == "failed"
    assert operation.error == "internal error in step test_explodes (KeyError)"
    assert operation.steps.get().state == "failed"


def test_a_second_worker_leaves_a_claimed_operation_alone(cluster) -> None:
    operation = make(cluster, "test_counts")
    Operation.objects.filter(pk=operation.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=1)
    )
    assert operation_advance(operation_id=str(operation.pk)) is None
    assert str(operation.pk) not in calls

    Operation.objects.filter(pk=operation.pk).update(claimed_until=None)
    operation_advance(operation_id=str(operation.pk))
    assert calls.count(str(operation.pk)) == 1
    operation.refresh_from_db()
    assert (operation.state, operation.claimed_until) == ("succeeded", None)


def test_an_operation_whose_first_message_was_lost_is_found_by_the_sweep(cluster) -> None:
    operation = make(cluster, "test_counts")
    later = timezone.now() + timedelta(minutes=5)
    assert str(operation.pk) in operations_stalled(now=later, grace=timedelta(minutes=2))
    operation_advance(operation_id=str(operation.pk))
    assert str(operation.pk) not in operations_stalled(now=later, grace=timedelta(minutes=2))
