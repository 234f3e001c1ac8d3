"""Fifty copies of one service.create racing each other make one guest and one operation."""

import json
import threading

import pytest
from django.db import connection

from apps.billing.models import BillingEvent, Service
from apps.guests.models import Guest
from apps.guests.services import guests_sync
from apps.operations.models import Operation
from apps.tenancy.models import Plan, Reservation
from tests.billing.conftest import deliver, event
from tests.guests.conftest import wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)

COPIES = 50


def test_fifty_concurrent_deliveries_of_one_create_act_once(integration, cluster, worker) -> None:
    guests_sync(cluster=cluster)
    Plan.objects.create(name="Small", slug="small", cores=1, memory_mb=1024, disk_gb=20)
    body = json.dumps(
        event(
            "evt-race",
            "service.create",
            service="svc-race",
            customer={"id": "race", "name": "Race Ltd"},
            plan="small",
            template=9000,
            hostname="race1",
        )
    ).encode()
    start = threading.Barrier(COPIES)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def send() -> None:
        start.wait()
        try:
            response = deliver(body)
            with lock:
                answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(COPIES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(answers) == COPIES
    assert {status for status, _body in answers} == {202}
    assert len({json.dumps(answer, sort_keys=True) for _status, answer in answers}) == 1
    (operation_id,) = {answer["operation"] for _status, answer in answers}
    assert Operation.objects.filter(kind="guest.create").count() == 1
    assert Guest.objects.filter(name="race1").count() == 1
    assert Service.objects.count() == 1
    assert BillingEvent.objects.count() == 1
    assert Reservation.objects.count() == 1
    assert wait_until_terminal(operation_id, timeout=60).state == "succeeded"
