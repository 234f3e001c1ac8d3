"""Provisioning throughput: guests created per minute through the API and a Celery worker,
against pvesim, and the portal's CPU time per operation.

    .venv/bin/python bench/provisioning.py [COUNT]

Starts pvesim (task speed 50: PVE's durations divided by 50), a throw-away SQLite database and
one in-process Celery worker; a tenant user asks for COUNT (default 20) VMs from the template at
once and the script waits for every operation to end. Prints guests per minute, seconds per
guest, and the portal process's CPU milliseconds per operation (web, worker and runner share
this process). Numbers only.
"""

import resource
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench._report import record  # noqa: E402
from bench.api_guests import setup_django  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(count: int) -> None:
    from tests.pvesim_server import PvesimServer

    with tempfile.TemporaryDirectory(prefix="portal-bench-") as data_dir:
        pvesim = PvesimServer(data_dir=Path(data_dir) / "pvesim")
        pvesim.extra_args = ("--seed", "demo", "--task-speed", "50")
        pvesim.start()
        try:
            setup_django(data_dir)
            run(pvesim, count, data_dir)
        finally:
            pvesim.stop()


def run(pvesim, count: int, data_dir: str) -> None:
    from celery.contrib.testing.worker import start_worker
    from rest_framework.test import APIClient

    from apps.core.demo import seed_demo, seed_demo_cluster
    from apps.identity.models import User
    from apps.operations.models import Operation
    from apps.tenancy.models import Quota
    from portal.celery import app

    seed_demo()
    seed_demo_cluster(address=f"{pvesim.host}:{pvesim.port}", pvesim_data_dir=pvesim.data_dir)
    Quota.objects.filter(tenant__slug="acme").update(
        guests=count, vcpus=count, memory_mb=count * 1024, disk_gb=count * 20
    )
    client = APIClient(SERVER_NAME="localhost")
    client.force_authenticate(User.objects.get(username="alice@pve"))
    with start_worker(
        app, pool="solo", perform_ping_check=False, queues=[app.conf.task_default_queue]
    ):
        cpu_before, started = cpu_seconds(), time.perf_counter()
        ids = []
        for number in range(count):
            response = client.post(
                "/api/v1/guests/",
                {"name": f"bench{number}", "plan": "small", "template": 9000},
                format="json",
            )
            if response.status_code != 202:
                raise RuntimeError(f"create answered {response.status_code}: {response.content}")
            ids.append(response.json()["id"])
        while (
            Operation.objects.filter(pk__in=ids)
            .exclude(state__in=Operation.TERMINAL_STATES)
            .exists()
        ):
            time.sleep(0.1)
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu_before
    succeeded = Operation.objects.filter(pk__in=ids, state="succeeded").count()
    print(f"{count} VMs from template 9000 through the API, one worker, pvesim task speed 50")
    print(f"  succeeded: {succeeded}/{count} in {elapsed:.1f} s")
    print(f"  guests per minute: {succeeded / elapsed * 60:.1f}")
    print(f"  seconds per guest: {elapsed / max(succeeded, 1):.2f}")
    print(f"  portal CPU per operation: {cpu / count * 1000:.0f} ms")
    per_minute = succeeded / elapsed * 60
    record(
        "provisioning", f"{count} VMs, guests per minute", per_minute, "/min", higher_is_better=True
    )
    record("provisioning", f"{count} VMs, seconds per guest", elapsed / max(succeeded, 1), "s")
    record("provisioning", f"{count} VMs, succeeded", succeeded, "guests", higher_is_better=True)
    record("provisioning", "portal CPU per operation", cpu / count * 1000, "ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
