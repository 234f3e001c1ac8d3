"""Soak: with pvesim faults on (errors, latency, lost answers, failing tasks, an offline node) and
a worker killed mid-run, 100 operations all end terminal, with no orphan and no duplicate guest
in pvesim, no reservation left open, and quota usage equal to what PVE holds.

Real processes: a pvesim with a few hundred guests, and Celery workers started as
`celery -A portal worker` on the test's own queue and database (soak/processes.py, with the
faults of soak/faults.py, which the longer `make soak` shares); the first is SIGKILLed while
operations run and a second takes over. The test plays beat: it calls the stalled-operations
sweep, so operations whose messages died with the first worker resume.
"""

import json
import os
import random
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from proxmoxer import ProxmoxAPI
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.clusters.models import Cluster
from apps.clusters.services import cluster_register, inventory_sync
from apps.guests.models import CREATING, Guest
from apps.guests.selectors import tenant_guest_usage
from apps.guests.services import guests_sync, images_sync
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.operations.tasks import resume_stalled
from apps.tenancy.models import Plan, Reservation, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_set
from portal.celery import app as celery_app
from portal.settings.components.database import is_sqlite
from soak.faults import BACKGROUND_FAULTS, SLOW_WRITES, WORKER_PVE_TIMEOUT_SECONDS, Faults
from soak.invariants import pve_sizes
from soak.processes import WorkerProcess
from tests.pvesim_server import PvesimServer
from tests.services.pve_access import make_token

pytestmark = pytest.mark.django_db(transaction=True)

SCALE_GUESTS = 300
TENANT = "soak"
OFFLINE_NODE = "pve3"
# Bounds, not assertions on speed: a run that needs longer is stuck, and says where.
KILL_AFTER_TERMINAL = 30
RUN_DEADLINE_SECONDS = 150
SETTLE_DEADLINE_SECONDS = 30


@pytest.fixture(scope="module")
def soak_pvesim(tmp_path_factory) -> Iterator[PvesimServer]:
    """Its own simulator: the faults and the offline node must not leak into other tests."""
    server = PvesimServer(
        data_dir=tmp_path_factory.mktemp("soak-pvesim") / "data",
        extra_args=("--seed", "demo", "--guests", str(SCALE_GUESTS)),
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def soak_root(soak_pvesim) -> ProxmoxAPI:
    return ProxmoxAPI(
        soak_pvesim.host,
        port=soak_pvesim.port,
        user="root@pam",
        password=soak_pvesim.root_password,
        verify_ssl=str(soak_pvesim.data_dir / "pve-ssl.pem"),
        timeout=30,
    )


@pytest.fixture
def faults(soak_pvesim) -> Iterator[Faults]:
    controller = Faults(
        host=soak_pvesim.host,
        port=soak_pvesim.port,
        ca_file=str(soak_pvesim.data_dir / "pve-ssl.pem"),
    )
    yield controller
    controller.clear()


def worker_env() -> dict[str, str]:
    """The test process's settings for a worker process: the database pytest-django created,
    the test's queue, and without Redis the test's broker folder."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    database = connection.settings_dict
    if is_sqlite(settings.DATABASES):
        env["DATABASE_URL"] = f"sqlite:///{database['NAME']}"
        queue_folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        env["PORTAL_TEST_BROKER_DIR"] = str(Path(queue_folder).parents[1])
    else:
        url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
        env["DATABASE_URL"] = url._replace(path="/" + database["NAME"]).geturl()
    env["PORTAL_TEST_QUEUE"] = celery_app.conf.task_default_queue
    env["PORTAL_PROXMOX_TIMEOUT_SECONDS"] = str(WORKER_PVE_TIMEOUT_SECONDS)
    return env


@pytest.fixture
def workers(transactional_db) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
    drop_leftover_messages()


def drop_leftover_messages() -> None:
    """What the workers left on the test's queue (copies not yet dropped as not due, and with
    Redis the messages the killed worker held unacknowledged) must not reach later tests."""
    queue = celery_app.conf.task_default_queue
    celery_app.control.purge()
    if not settings.REDIS_URL:
        return
    with celery_app.connection_for_write() as broker:
        client = broker.default_channel.client
        for tag, raw in client.hgetall("unacked").items():
            if json.loads(raw)[2] == queue:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


@pytest.fixture
def soak_cluster(transactional_db, soak_pvesim, soak_root) -> Cluster:
    token = make_token(soak_root)
    cluster = cluster_register(
        name="soak",
        api_addresses=[f"{soak_pvesim.host}:{soak_pvesim.port}"],
        token_id=token.token_id,
        token_secret=token.secret,
        fingerprint=soak_pvesim.fingerprint,
    )
    inventory_sync(cluster=cluster)
    assert images_sync(cluster=cluster) > 0
    return cluster


@pytest.fixture
def tenant(soak_cluster, soak_root) -> Tenant:
    """A tenant with room to spare, owning 60 of the simulator's guests (its pool on PVE)."""
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    tenant = Tenant.objects.create(name="Soak", slug=TENANT)
    quota_set(
        tenant=tenant,
        limits=Resources(guests=500, vcpus=2000, memory_mb=10**7, disk_gb=10**6),
    )
    owned = sorted(int(g["vmid"]) for g in soak_root.cluster.resources.get(type="vm"))
    owned = [vmid for vmid in owned if vmid != 9000 and vmid != 9001][:60]
    soak_root.pools.post(poolid=TENANT, comment="Soak")
    soak_root.pools.put(poolid=TENANT, vms=",".join(map(str, owned)))
    report = guests_sync(cluster=soak_cluster)
    assert sorted(report.adopted) == owned
    return tenant


@pytest.fixture
def alice(tenant) -> APIClient:
    user = user_create(userid="alice@pve", password="x", tenant=tenant)
    acl_modify(path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=["alice@pve"])
    client = APIClient()
    client.force_authenticate(user)
    return client


def plan_requests(tenant: Tenant, ostemplate: str) -> list[tuple[str, str, dict | None]]:
    """100 API calls: creates of VMs and containers, power actions, resizes and deletes, each on
    a guest of its own, shuffled with a fixed seed."""
    owned = list(Guest.objects.filter(tenant=tenant).order_by("vmid"))
    calls: list[tuple[str, str, dict | None]] = []
    for number in range(35):
        body = {"name": f"soak-vm-{number}", "plan": "small", "template": 9000}
        calls.append(("post", "/api/v1/guests/", body))
    for number in range(10):
        body = {"name": f"soak-ct-{number}", "plan": "small", "ostemplate": ostemplate}
        calls.append(("post", "/api/v1/guests/", {**body, "password": "Secret-12"}))
    power = owned[:25]
    resize = [guest for guest in owned[25:] if guest.type == "qemu"][:15]
    delete = [guest for guest in owned[25:] if guest not in resize][:15]
    for guest in power:
        if guest.status == "running":
            action = ("stop", "shutdown", "reboot")[guest.vmid % 3]
        else:
            action = "start"
        calls.append(("post", f"/api/v1/guests/{guest.vmid}/status/{action}/", None))
    for guest in resize:
        calls.append(("post", f"/api/v1/guests/{guest.vmid}/resize/", {"plan": "medium"}))
    for guest in delete:
        calls.append(("delete", f"/api/v1/guests/{guest.vmid}/", None))
    assert len(calls) == 100
    random.Random(4242).shuffle(calls)  # noqa: S311 (a fixed order, not a secret)
    return calls


def unfinished() -> list[Operation]:
    return list(Operation.objects.exclude(state__in=Operation.TERMINAL_STATES))


def run_until_terminal(*, deadline: float, stop_at_terminal: int | None = None) -> None:
    """Poll the database, playing beat (the stalled-operations sweep) once a second."""
    last_sweep = 0.0
    while time.monotonic() < deadline:
        terminal = Operation.objects.filter(state__in=Operation.TERMINAL_STATES).count()
        if stop_at_terminal is not None and terminal >= stop_at_terminal:
            return
        if stop_at_terminal is None and not unfinished():
            return
        if time.monotonic() - last_sweep >= 1:
            resume_stalled()
            last_sweep = time.monotonic()
        time.sleep(0.2)
    stuck = [
        f"{o.kind} {o.target} {o.state} steps={list(o.steps.values_list('name', 'state', 'upid'))}"
        for o in unfinished()
    ]
    raise AssertionError(f"{len(stuck)} operations not terminal in time: {stuck}")


def pve_guests(root: ProxmoxAPI) -> list[dict]:
    return root.cluster.resources.get(type="vm")


def history(vmid: int, portal: dict[int, Guest]) -> dict:
    """What the portal knows of a VMID, for a failure message."""
    guest = portal.get(vmid)
    return {
        "vmid": vmid,
        "guest": guest and (guest.name, guest.status, guest.vanished_at),
        "operations": [
            (o.kind, o.state, o.error, list(o.steps.values_list("name", "state", "upid")))
            for o in Operation.objects.filter(target=f"/vms/{vmid}")
        ],
    }


def settle(root: ProxmoxAPI, deadline: float) -> None:
    """Wait until PVE runs no task any more (a cleanup's destroy may still be on its way)."""
    while time.monotonic() < deadline:
        if not [t for t in root.cluster.tasks.get() if "endtime" not in t]:
            return
        time.sleep(0.2)
    raise AssertionError("pvesim still runs tasks")


def test_a_hundred_operations_under_faults_and_a_killed_worker_end_clean(
    soak_cluster, tenant, alice, soak_root, faults, workers, tmp_path
) -> None:
    Plan.objects.create(name="Small", slug="small", cores=1, memory_mb=512, disk_gb=8)
    Plan.objects.create(name="Medium", slug="medium", cores=2, memory_mb=2048, disk_gb=8)
    ostemplate = next(
        volid
        for volid in soak_cluster.images.values_list("volid", flat=True)
        if "debian-12-standard" in volid
    )
    calls = plan_requests(tenant, ostemplate)
    env = worker_env()
    # A node goes down, and beat's inventory sync notices: placement leaves it out; its guests'
    # actions meet "No route to host" (595) until it is back.
    faults.put(offline_nodes=[OFFLINE_NODE])
    inventory_sync(cluster=soak_cluster)
    faults.put(
        seed=20251126,
        rules=[SLOW_WRITES, *BACKGROUND_FAULTS],
        fail_tasks={"count": 6, "message": "simulated storage hiccup"},
        warn_tasks={"count": 4, "message": "simulated warning"},
    )
    workers.append(WorkerProcess(env, tmp_path / "worker-1.log"))

    submitted = []
    for method, path, body in calls:
        response = getattr(alice, method)(path, body, format="json")
        assert response.status_code == 202, (path, response.content)
        submitted.append(response.json()["id"])

    # Mid-run: the worker dies with operations in its hands (claimed, messages unacknowledged).
    run_until_terminal(
        deadline=time.monotonic() + RUN_DEADLINE_SECONDS, stop_at_terminal=KILL_AFTER_TERMINAL
    )
    workers[0].kill()
    in_flight = len(unfinished())
    faults.put(rules=[], offline_nodes=[])  # the node is back, and the next sync sees it
    inventory_sync(cluster=soak_cluster)
    faults.put(
        seed=7, rules=BACKGROUND_FAULTS, fail_tasks={"count": 6, "message": "storage hiccup"}
    )
    workers.append(WorkerProcess(env, tmp_path / "worker-2.log"))
    run_until_terminal(deadline=time.monotonic() + RUN_DEADLINE_SECONDS)
    faults.clear()
    settle(soak_root, time.monotonic() + SETTLE_DEADLINE_SECONDS)

    operations = list(Operation.objects.all())
    summary = Counter((o.kind, o.state) for o in operations)
    reasons = Counter(o.error.split(":")[0][:60] for o in operations if o.error)
    context = f"in flight at the kill: {in_flight}; {dict(summary)}; reasons: {dict(reasons)}"
    print(context)  # what the run went through, for `pytest -s`
    assert in_flight > 0, context
    assert set(submitted) <= {str(o.pk) for o in operations}
    # Every operation ended, a failed or cancelled one with its reason.
    assert all(o.is_terminal for o in operations), context
    assert all(o.error for o in operations if o.state != Operation.State.SUCCEEDED), context
    assert not Reservation.objects.filter(released_at__isnull=True).exists(), context

    on_pve = pve_guests(soak_root)
    in_pool = {int(g["vmid"]): g for g in on_pve if g.get("pool") == TENANT}
    portal = {g.vmid: g for g in Guest.objects.filter(tenant=tenant)}
    # No orphan: what PVE holds in the tenant's pool is a live guest of the portal...
    unknown = sorted(
        vmid
        for vmid in in_pool
        if vmid not in portal or portal[vmid].vanished_at or portal[vmid].status == "destroyed"
    )
    assert not unknown, f"orphans on PVE: {[history(v, portal) for v in unknown]}; {context}"
    # ...every live guest of the portal is on PVE, and nothing is left half-created.
    live = {vmid: g for vmid, g in portal.items() if g.vanished_at is None}
    missing = sorted(set(live) - {int(g["vmid"]) for g in on_pve})
    assert not missing, f"portal guests PVE does not have: {missing}; {context}"
    assert not [g.vmid for g in live.values() if g.status == CREATING], context
    # No duplicate: one PVE guest per name the test gave, one portal guest per VMID.
    made = Counter(g.get("name") for g in on_pve if str(g.get("name", "")).startswith("soak-"))
    assert [name for name, count in made.items() if count > 1] == [], context
    assert all(int(g["vmid"]) in in_pool for g in on_pve if g.get("name") in made), context
    assert not Guest.objects.values("vmid").annotate(rows=Count("pk")).filter(rows__gt=1)
    # Quota usage is what the tenant's guests take on PVE, guest by guest and in total.
    sizes = {vmid: pve_sizes(guest) for vmid, guest in in_pool.items()}
    drift = {
        vmid: ((g.cores, g.memory_mb, g.disk_gb), sizes[vmid])
        for vmid, g in live.items()
        if (g.cores, g.memory_mb, g.disk_gb) != sizes[vmid]
    }
    assert not drift, f"portal sizes differ from PVE's: {drift}; {context}"
    assert tenant_guest_usage(tenant=tenant) == Resources(
        guests=len(sizes),
        vcpus=sum(cores for cores, _memory, _disk in sizes.values()),
        memory_mb=sum(memory for _cores, memory, _disk in sizes.values()),
        disk_gb=sum(disk for _cores, _memory, disk in sizes.values()),
    ), context
