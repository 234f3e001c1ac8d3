"""`make run`'s command: migrates, seeds, starts pvesim, web and worker, stops on Ctrl-C."""

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO_ROOT, run_manage
from tests.services.network import free_port

pytestmark = pytest.mark.embedded


def run_once(env: dict[str, str]) -> tuple[str, str]:
    """Start runembedded, wait for its banner, check /healthz, Ctrl-C; return both outputs."""
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runembedded"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "runembedded exited before it was ready:\n" + "".join(output)
            output.append(line)
            if line.startswith("Press Ctrl-C to stop."):
                break
        url = f"http://127.0.0.1:{env['PORTAL_PORT']}/healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert json.load(response) == {"status": "alive"}
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    return "".join(output), rest


def test_runembedded_serves_seeds_registers_pvesim_and_stops_cleanly(embedded_env) -> None:
    port, pvesim_port = free_port(), free_port()
    env = {**embedded_env, "PORTAL_PORT": str(port), "PORTAL_PVESIM_PORT": str(pvesim_port)}

    banner, rest = run_once(env)

    assert f"Portal running at http://127.0.0.1:{port}/" in banner
    assert (
        f"Proxmox VE simulator at https://127.0.0.1:{pvesim_port}/ "
        "(registered as cluster 'pvesim', 3 nodes)"
    ) in banner
    assert "operator@pve / operator-demo" in banner
    assert "alice@pve / alice-demo" in banner
    assert "Stopped." in rest

    again, _rest = run_once(env)  # same data: the seeds are idempotent
    assert "registered as cluster 'pvesim', 3 nodes" in again
    counted = run_manage(
        "shell",
        "--verbosity",
        "0",
        "-c",
        "from apps.clusters.models import Cluster; from apps.identity.models import User; "
        "print(Cluster.objects.count(), User.objects.count())",
        env=env,
    )
    assert counted.stdout.split() == ["1", "2"]
