"""The soak, start to end: start the processes, run mixed traffic for the duration while the
chaos plan strikes, let everything drain, check the invariants, print the tables. Exit status 1
when an invariant fails.

Real processes, on PostgreSQL (database `portal_soak`, or SOAK_DATABASE_URL) and a Redis server
of the soak's own: pvesim, uvicorn with the ASGI app, two prefork Celery workers and beat, all
supervised as the deployment restarts them. This process drives traffic over HTTP and websockets
and, while draining, also plays beat's sweeps (stalled operations, overdue deliveries) so that
the end does not wait for their schedule.
"""

import itertools
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from soak.processes import REPO_ROOT, BeatProcess, RedisServer, WebServer, WorkerProcess, free_port
from soak.setup import DATABASE_URL, configure_environment, recreate_database

CUSTOMER_THREADS = 3
PAUSE_SECONDS = 0.3
DRAIN_SECONDS = 300
SWEEP_SECONDS = 5
SETTLE_SECONDS = 60
WORKERS = 2
WORKER_CONCURRENCY = 3
PVESIM_TASK_SPEED = "100"


def main(*, minutes: float) -> int:
    run_dir = REPO_ROOT / "var" / "soak" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    (run_dir / "pvesim").mkdir(parents=True)
    redis = RedisServer(run_dir)
    redis.start()
    database_url = os.environ.get("SOAK_DATABASE_URL", DATABASE_URL)
    recreate_database(database_url)
    configure_environment(
        data_dir=run_dir / "portal", database_url=database_url, redis_url=redis.url
    )
    import django

    django.setup()
    from tests.pvesim_server import PvesimServer

    pvesim = PvesimServer(
        data_dir=run_dir / "pvesim" / "data",
        extra_args=("--seed", "demo", "--task-speed", PVESIM_TASK_SPEED),
    )
    pvesim.start()
    try:
        return soak(minutes=minutes, run_dir=run_dir, pvesim=pvesim, redis=redis)
    finally:
        pvesim.stop()
        redis.stop()


def soak(*, minutes: float, run_dir: Path, pvesim, redis: RedisServer) -> int:
    from soak.faults import WORKER_PVE_TIMEOUT_SECONDS, Faults
    from soak.receiver import EventReceiver
    from soak.setup import BILLING_KEY, populate
    from soak.supervisor import Supervisor
    from soak.timeline import Timeline
    from soak.verdict import verdict

    receiver = EventReceiver(key=BILLING_KEY, refuse_rate=0.1, seed=11)
    world = populate(pvesim=pvesim, receiver_url=receiver.url)
    env = dict(os.environ)
    worker_env = {**env, "PORTAL_PROXMOX_TIMEOUT_SECONDS": str(WORKER_PVE_TIMEOUT_SECONDS)}
    timeline = Timeline()
    supervisor = Supervisor(timeline)
    port = free_port()
    web = supervisor.start("web", lambda: WebServer(env, run_dir / "web.log", port=port))
    supervisor.start("beat", lambda: BeatProcess(env, run_dir / "beat.log"))
    for number in range(1, WORKERS + 1):
        log = run_dir / f"worker-{number}.log"
        supervisor.start(
            f"worker-{number}",
            lambda log=log: WorkerProcess(worker_env, log, concurrency=WORKER_CONCURRENCY),
        )
    stop_watching = threading.Event()
    watching = threading.Thread(target=supervisor.watch, args=(stop_watching,))
    watching.start()
    faults = Faults(
        host=pvesim.host, port=pvesim.port, ca_file=str(pvesim.data_dir / "pve-ssl.pem")
    )
    print(f"soak: {minutes:g} min of traffic on {web.url}, logs in {run_dir}", flush=True)
    try:
        traffic = drive(
            minutes=minutes,
            url=web.url,
            world=world,
            faults=faults,
            redis=redis,
            supervisor=supervisor,
            timeline=timeline,
        )
        faults.clear()
        timeline.add("traffic over, pvesim faults cleared; draining")
        drained = drain() and settle(pvesim)
        timeline.add("drained" if drained else "drain deadline reached")
        return verdict(
            run_dir=run_dir,
            minutes=minutes,
            traffic=traffic,
            timeline=timeline,
            receiver=receiver,
            root=root_of(pvesim),
            drained=drained,
            web_log=run_dir / "web.log",
        )
    finally:
        stop_watching.set()
        watching.join()
        supervisor.stop_all()
        receiver.close()


def drive(*, minutes, url, world, faults, redis, supervisor, timeline) -> dict:
    """Traffic for the duration, the chaos plan alongside; what the actors were answered."""
    from soak.chaos import Chaos
    from soak.setup import BILLING_KEY
    from soak.traffic import BillingSystem, Customer, Tally, run_actors

    tally, errors = Tally(), Tally()
    names = itertools.count(1)
    customers = [
        Customer(
            base_url=url,
            token=world.customer_token,
            cookie=world.customer_cookie,
            ostemplate=world.ostemplate,
            tally=tally,
            seed=seed,
            names=names,
        )
        for seed in range(CUSTOMER_THREADS)
    ]
    billing = BillingSystem(base_url=url, key=BILLING_KEY, tally=tally, seed=99)
    chaos = Chaos(faults=faults, redis=redis, supervisor=supervisor, timeline=timeline)
    duration = minutes * 60
    stop = threading.Event()
    striking = threading.Thread(target=chaos.run, kwargs={"duration": duration, "stop": stop})
    striking.start()
    run_actors(
        [*customers, billing],
        until=timeline.started + duration,
        pause=PAUSE_SECONDS,
        errors=errors,
    )
    stop.set()
    striking.join()
    return {"tally": tally, "errors": errors, "billing": billing}


def drain() -> bool:
    """Until every operation is terminal and no delivery pending, playing beat's sweeps."""
    from apps.billing.models import Delivery
    from apps.billing.tasks import deliver_overdue
    from apps.operations.models import Operation
    from apps.operations.tasks import resume_stalled

    deadline, last_sweep = time.monotonic() + DRAIN_SECONDS, 0.0
    while time.monotonic() < deadline:
        busy = Operation.objects.exclude(state__in=Operation.TERMINAL_STATES).exists()
        if not busy and not Delivery.objects.filter(state=Delivery.State.PENDING).exists():
            return True
        if time.monotonic() - last_sweep >= SWEEP_SECONDS:
            resume_stalled()
            deliver_overdue()
            last_sweep = time.monotonic()
        time.sleep(1)
    return False


def settle(pvesim) -> bool:
    """Until pvesim runs no task any more (a cleanup's destroy may still be on its way)."""
    root = root_of(pvesim)
    deadline = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < deadline:
        if not [t for t in root.cluster.tasks.get() if "endtime" not in t]:
            return True
        time.sleep(0.5)
    return False


def root_of(pvesim):
    """root@pam on pvesim, to see what PVE holds."""
    from proxmoxer import ProxmoxAPI

    return ProxmoxAPI(
        pvesim.host,
        port=pvesim.port,
        user="root@pam",
        password=pvesim.root_password,
        verify_ssl=str(pvesim.data_dir / "pve-ssl.pem"),
        timeout=30,
    )
