"""Live progress: the runner publishes on the channel layer, `ws/operations/` forwards to pages.

The websocket side runs the real ASGI application (origin check, session auth, routing) with the
channel layer the settings configure: Redis when REDIS_URL is set, in memory otherwise. Each test
gets a layer of its own (a Redis key prefix of its own), so concurrent test runs sharing one
Redis never hear each other's events.
"""

import copy
import time
import uuid
from contextlib import asynccontextmanager

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings as django_settings
from django.test import Client

from apps.access.services import acl_modify
from apps.audit.services import Actor
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register, inventory_sync
from apps.guests.models import Guest
from apps.guests.services import guest_power, guests_sync
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.operations.runner import Done, operation_advance, step_handler
from apps.operations.services import operation_create
from apps.tenancy.models import Tenant
from portal.asgi import application
from tests.guests.conftest import wait_for_task
from tests.services.pve_access import make_token

# The consumer reads sessions and operations from its own threads: data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = (b"origin", b"http://localhost")  # in the default ALLOWED_HOSTS
RECEIVE_TIMEOUT = 10


@step_handler("test_progress_noop")
def noop(*, operation, step, params):
    return Done()


@pytest.fixture(autouse=True)
def builtin_realm(transactional_db) -> None:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})


@pytest.fixture(autouse=True)
def own_channel_layer(settings) -> None:
    """The configured layer, reset for this test (the manager drops its layers on a settings
    change); on Redis also under a prefix nobody else uses."""
    layers = copy.deepcopy(django_settings.CHANNEL_LAYERS)
    if layers["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer":
        layers["default"]["CONFIG"]["prefix"] = f"test-progress-{uuid.uuid4().hex[:12]}"
    settings.CHANNEL_LAYERS = layers


@pytest.fixture
def cluster(pvesim, pvesim_root) -> Cluster:
    token = make_token(pvesim_root)
    registered = cluster_register(
        name=f"sim{uuid.uuid4().hex[:6]}",
        api_addresses=[f"{pvesim.host}:{pvesim.port}"],
        token_id=token.token_id,
        token_secret=token.secret,
        fingerprint=pvesim.fingerprint,
    )
    inventory_sync(cluster=registered)
    return registered


@pytest.fixture
def acme_guest(cluster, pvesim_root) -> Guest:
    """A stopped VM in tenant ACME's pool, cloned from the demo template and adopted."""
    vmid = int(pvesim_root.cluster.nextid.get())
    upid = pvesim_root.nodes("pve1").qemu(9000).clone.post(newid=vmid, name=f"vm{vmid}")
    assert wait_for_task(pvesim_root, upid)["exitstatus"] == "OK"
    acme = Tenant.objects.create(name="ACME", slug=f"acme{vmid}")
    pvesim_root.pools.post(poolid=acme.slug)
    pvesim_root.pools.put(poolid=acme.slug, vms=str(vmid))
    guests_sync(cluster=cluster)
    guest = Guest.objects.get(vmid=vmid)
    assert guest.tenant == acme
    return guest


def session_cookie(user) -> tuple[bytes, bytes]:
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    return (b"cookie", f"{name}={client.cookies[name].value}".encode())


@asynccontextmanager
async def websocket(*headers: tuple[bytes, bytes]):
    communicator = WebsocketCommunicator(application, "/ws/operations/", headers=[*headers])
    connected, _code = await communicator.connect(timeout=RECEIVE_TIMEOUT)
    assert connected
    try:
        yield communicator
    finally:
        await communicator.disconnect()


async def subscribe(communicator: WebsocketCommunicator, what: str) -> dict:
    await communicator.send_json_to({"subscribe": what})
    return await communicator.receive_json_from(timeout=RECEIVE_TIMEOUT)


@sync_to_async
def run_to_the_end(operation_id: str) -> Operation:
    """What the Celery task does, without the broker: advance until nothing is left."""
    deadline = time.monotonic() + 30
    while (wait := operation_advance(operation_id=operation_id)) is not None:
        assert time.monotonic() < deadline, "the operation did not finish"
        time.sleep(wait)
    return Operation.objects.get(pk=operation_id)


async def events_until_terminal(communicator: WebsocketCommunicator) -> list[dict]:
    events = []
    while not events or events[-1]["state"] not in {"succeeded", "failed", "cancelled"}:
        message = await communicator.receive_json_from(timeout=RECEIVE_TIMEOUT)
        assert message["type"] == "operation.progress", message
        events.append(message["operation"])
    return events


def test_a_tenant_user_follows_their_operation_as_the_runner_advances_it(acme_guest) -> None:
    alice = user_create(userid="alice@pve", password="x", tenant=acme_guest.tenant)
    acl_modify(path=f"/pool/{acme_guest.tenant.slug}", roles=["PVEVMUser"], users=["alice@pve"])
    cookie = session_cookie(alice)

    async def scenario() -> tuple[dict, list[dict], Operation]:
        async with websocket(ORIGIN, cookie) as page:
            assert await subscribe(page, "all") == {"subscribed": "all"}
            operation = await sync_to_async(guest_power)(
                guest=acme_guest, action="start", actor=alice
            )
            created = await page.receive_json_from(timeout=RECEIVE_TIMEOUT)
            # Following the operation too: its state now, then its events once each.
            assert await subscribe(page, str(operation.pk)) == {"subscribed": str(operation.pk)}
            assert await page.receive_json_from(timeout=RECEIVE_TIMEOUT) == created
            finished = await run_to_the_end(str(operation.pk))
            events = await events_until_terminal(page)
            assert await page.receive_nothing(timeout=0.2)
            return created, events, finished

    created, events, operation = async_to_sync(scenario)()

    assert operation.state == "succeeded", operation.error
    step = operation.steps.get()
    assert created == {
        "type": "operation.progress",
        "operation": {
            "id": str(operation.pk),
            "kind": "guest.start",
            "state": "pending",
            "target": f"/vms/{acme_guest.vmid}",
            "guest": acme_guest.vmid,
            "error": "",
            "finished_at": None,
            "steps": [{"position": 0, "name": "guest_power", "state": "pending", "upid": ""}],
        },
    }
    assert {event["id"] for event in events} == {str(operation.pk)}
    progression = [(event["state"], event["steps"][0]["state"]) for event in events]
    # Started, the PVE task running (when PVE was not done at the first look), done, succeeded.
    assert progression in (
        [
            ("running", "pending"),
            ("running", "running"),
            ("running", "done"),
            ("succeeded", "done"),
        ],
        [("running", "pending"), ("running", "done"), ("succeeded", "done")],
    )
    assert events[0]["steps"][0]["upid"] == ""
    assert events[-1] == {
        "id": str(operation.pk),
        "kind": "guest.start",
        "state": "succeeded",
        "target": f"/vms/{acme_guest.vmid}",
        "guest": acme_guest.vmid,
        "error": "",
        "finished_at": operation.finished_at.isoformat(),
        "steps": [{"position": 0, "name": "guest_power", "state": "done", "upid": step.upid}],
    }
    assert step.upid.startswith("UPID:pve1:")
    assert ":qmstart:" in step.upid


def test_foreign_and_missing_operations_are_not_found_and_send_nothing(acme_guest) -> None:
    alice = user_create(userid="alice@pve", password="x", tenant=acme_guest.tenant)
    acl_modify(path=f"/pool/{acme_guest.tenant.slug}", roles=["PVEVMUser"], users=["alice@pve"])
    globex = Tenant.objects.create(name="Globex", slug=f"globex{acme_guest.vmid}")
    mallory = user_create(userid="mallory@pve", password="x", tenant=globex)
    cookie = session_cookie(mallory)
    operation = guest_power(guest=acme_guest, action="start", actor=alice)

    async def scenario() -> None:
        async with websocket(ORIGIN, cookie) as page:
            for wanted in (str(operation.pk), str(uuid.uuid4()), "not-a-uuid"):
                assert await subscribe(page, wanted) == {"subscribe": wanted, "error": "not found"}
            await page.send_to(text_data="{not json")
            assert await page.receive_json_from() == {"error": "expected a JSON object"}
            # Her tenant's stream carries nothing of ACME's.
            assert await subscribe(page, "all") == {"subscribed": "all"}
            finished = await run_to_the_end(str(operation.pk))
            assert finished.state == "succeeded", finished.error
            assert await page.receive_nothing(timeout=0.5)

    async_to_sync(scenario)()


def test_an_operator_following_all_sees_every_tenants_operations(acme_guest) -> None:
    alice = user_create(userid="alice@pve", password="x", tenant=acme_guest.tenant)
    acl_modify(path=f"/pool/{acme_guest.tenant.slug}", roles=["PVEVMUser"], users=["alice@pve"])
    operator = user_create(userid="op@pve", password="x", is_staff=True)
    operator.is_superuser = True
    operator.save(update_fields=["is_superuser"])
    cookie = session_cookie(operator)

    async def scenario() -> tuple[dict, list[dict]]:
        async with websocket(ORIGIN, cookie) as page:
            assert await subscribe(page, "all") == {"subscribed": "all"}
            operation = await sync_to_async(guest_power)(
                guest=acme_guest, action="start", actor=alice
            )
            await run_to_the_end(str(operation.pk))
            created = await page.receive_json_from(timeout=RECEIVE_TIMEOUT)
            return created, await events_until_terminal(page)

    created, events = async_to_sync(scenario)()

    assert created["operation"]["state"] == "pending"
    assert created["operation"]["guest"] == acme_guest.vmid
    assert events[0]["state"] == "running"
    assert events[-1]["state"] == "succeeded"
    assert {event["id"] for event in events} == {created["operation"]["id"]}


def test_a_page_whose_channel_layer_is_down_ends_quietly(acme_guest, settings) -> None:
    """Redis restarting: the page's websocket ends (it reconnects later) without crashing the
    ASGI application."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},  # nothing listens on port 1
        }
    }
    alice = user_create(userid="alice@pve", password="x", tenant=acme_guest.tenant)
    cookie = session_cookie(alice)

    async def scenario() -> None:
        communicator = WebsocketCommunicator(
            application, "/ws/operations/", headers=[ORIGIN, cookie]
        )
        await communicator.connect(timeout=RECEIVE_TIMEOUT)
        await communicator.wait(timeout=RECEIVE_TIMEOUT)  # ended, and without an error

    async_to_sync(scenario)()


def test_anonymous_and_foreign_origin_connections_are_refused() -> None:
    cookie = session_cookie(user_create(userid="alice@pve", password="x"))

    async def connects(*headers: tuple[bytes, bytes]) -> bool:
        communicator = WebsocketCommunicator(application, "/ws/operations/", headers=[*headers])
        connected, _code = await communicator.connect(timeout=RECEIVE_TIMEOUT)
        await communicator.disconnect()
        return connected

    assert async_to_sync(connects)(ORIGIN, cookie) is True
    assert async_to_sync(connects)(ORIGIN) is False
    assert async_to_sync(connects)(ORIGIN, (b"cookie", b"sessionid=forged")) is False
    assert async_to_sync(connects)((b"origin", b"https://evil.example"), cookie) is False


def test_a_channel_layer_failure_does_not_fail_the_operation(settings, caplog) -> None:
    # A real Redis layer whose server is not there: every publish fails to connect.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    operation = operation_create(
        kind="test",
        cluster=cluster,
        target="/",
        actor=Actor.system(),
        steps=[("test_progress_noop", {}), ("test_progress_noop", {})],
    )

    assert operation_advance(operation_id=str(operation.pk)) is None

    operation.refresh_from_db()
    assert operation.state == "succeeded"
    assert list(operation.steps.values_list("state", flat=True)) == ["done", "done"]
    failures = [
        record
        for record in caplog.records
        if record.name == "apps.operations.progress" and str(operation.pk) in record.getMessage()
    ]
    # Created, started, two steps done, finished: each one logged, none raised.
    assert len(failures) == 5
    assert all("ConnectionError" in record.getMessage() for record in failures)
