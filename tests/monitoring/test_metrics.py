"""/metrics: who may scrape it, and what it tells: operations by kind and state, PVE API latency
and errors per cluster (against pvesim), Celery's queue depth on Redis, open consoles."""

import urllib.request
import uuid

import pytest
import redis
from asgiref.sync import async_to_sync, sync_to_async
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from apps.audit.services import Actor
from apps.clusters.services import client_for
from apps.consoles.services import console_ticket_issue
from apps.monitoring.collectors import KOMBU_PRIORITY_SEPARATOR
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.proxmox.errors import ProxmoxNotFound
from portal.celery import start_worker_metrics
from tests.consoles.websocket import TIMEOUT, communicator_for, session_key_of

pytestmark = pytest.mark.django_db


def scrape(client: Client | None = None, **headers: str) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get("/metrics", headers=headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_scrapes_from_outside_the_allowed_networks_need_the_token(settings) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "scrape-token-1"
    outside = Client(REMOTE_ADDR="192.0.2.7")
    assert outside.get("/metrics").status_code == 403
    assert outside.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert scrape(outside, Authorization="Bearer scrape-token-1")
    assert scrape(Client(REMOTE_ADDR="10.1.2.3"))
    assert Client(REMOTE_ADDR="10.1.2.3").post("/metrics").status_code in (403, 405)


def test_without_a_token_configured_an_empty_bearer_is_no_key(settings) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    settings.METRICS_TOKEN = ""
    outside = Client(REMOTE_ADDR="192.0.2.7")
    assert outside.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 403
    assert scrape(Client(REMOTE_ADDR="127.0.0.1"))


def test_operations_are_counted_by_kind_and_state(console_cluster) -> None:
    for kind in ("guest.start", "guest.start", "guest.stop"):
        operation_create(
            kind=kind,
            cluster=console_cluster,
            target="/vms/100",
            actor=Actor.system(),
            steps=[("guest_power", {"action": "x"})],
        )
    Operation.objects.filter(kind="guest.stop").update(state=Operation.State.FAILED)

    samples = scrape()

    assert samples[("portal_operations", (("kind", "guest.start"), ("state", "pending")))] == 2
    assert samples[("portal_operations", (("kind", "guest.stop"), ("state", "failed")))] == 1


def test_pve_calls_are_timed_and_failures_counted_per_cluster(console_cluster) -> None:
    labels = (("cluster", console_cluster.name), ("method", "GET"))
    errors = (("cluster", console_cluster.name), ("error", "ProxmoxNotFound"))
    before = scrape()
    client = client_for(console_cluster)

    client.get("version")
    with pytest.raises(ProxmoxNotFound):
        client.get(f"nodes/{console_cluster.nodes.first().name}/qemu/999999/status/current")

    after = scrape()
    count = "portal_pve_request_seconds_count"
    assert after[(count, labels)] - before.get((count, labels), 0) == 2
    assert after[("portal_pve_request_seconds_sum", labels)] > 0
    errors_total = "portal_pve_request_errors_total"
    assert after[(errors_total, errors)] - before.get((errors_total, errors), 0) == 1


def test_celery_queue_depth_is_read_from_the_redis_broker(settings, redis_url) -> None:
    queue = f"metrics-{uuid.uuid4().hex}"
    settings.CELERY_BROKER_URL = redis_url
    settings.CELERY_TASK_DEFAULT_QUEUE = queue
    broker = redis.Redis.from_url(redis_url)
    try:
        broker.rpush(queue, "a", "b")
        broker.rpush(f"{queue}{KOMBU_PRIORITY_SEPARATOR}9", "c")  # a high-priority message
        assert scrape()[("portal_celery_queue_depth", (("queue", queue),))] == 3
    finally:
        broker.delete(queue, f"{queue}{KOMBU_PRIORITY_SEPARATOR}9")


def test_an_unreachable_broker_leaves_the_depth_out_and_the_rest_in(settings) -> None:
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    samples = scrape()
    assert not [key for key in samples if key[0] == "portal_celery_queue_depth"]
    assert [key for key in samples if key[0] == "portal_consoles_open"]


@pytest.mark.django_db(transaction=True)
def test_open_consoles_are_counted_while_they_are_open(alice, alice_client, running_vm) -> None:
    def open_consoles() -> float:
        return scrape()[("portal_consoles_open", ())]

    before = open_consoles()
    key = session_key_of(alice_client)
    token = console_ticket_issue(actor=alice, guest=running_vm, session_key=key).token

    async def scenario() -> None:
        communicator = communicator_for(token, key)
        connected, _subprotocol = await communicator.connect(timeout=TIMEOUT)
        assert connected
        assert await sync_to_async(open_consoles)() == before + 1
        await communicator.disconnect()

    async_to_sync(scenario)()
    assert open_consoles() == before


def test_a_worker_serves_its_pve_calls_on_its_own_port(settings, console_cluster) -> None:
    settings.WORKER_METRICS_LISTEN = "127.0.0.1:0"  # any free port
    server, thread = start_worker_metrics()  # what Celery's worker_init signal calls
    try:
        client_for(console_cluster).get("version")
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics") as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
        thread.join()
    assert f'portal_pve_request_seconds_count{{cluster="{console_cluster.name}",method="GET"}}' in (
        text
    )
