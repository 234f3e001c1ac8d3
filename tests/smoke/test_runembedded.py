"""`make run`'s command: migrates, seeds, starts pvesim, web and worker, stops on Ctrl-C."""

import json
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import REPO_ROOT
from tests.services.network import free_port

pytestmark = pytest.mark.embedded


def test_runembedded_serves_prints_logins_and_stops_cleanly_on_ctrl_c(embedded_env) -> None:
    port, pvesim_port = free_port(), free_port()
    env = {**embedded_env, "PORTAL_PORT": str(port), "PORTAL_PVESIM_PORT": str(pvesim_port)}
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
        banner = "".join(output)
        assert f"Portal running at http://127.0.0.1:{port}/" in banner
        assert f"Proxmox VE simulator at https://127.0.0.1:{pvesim_port}/" in banner
        assert "operator@pve / operator-demo" in banner
        assert "alice@pve / alice-demo" in banner

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert json.load(response) == {"status": "alive"}

        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert "Stopped." in rest
