"""pytest plugin: a real pvesim process over HTTPS for tests (fixture ``pvesim``).

The simulator runs as ``python -m pvesim serve`` on a free port with a temporary data directory
and a high task speed; tests talk to it like to a PVE node. ``restart()`` stops and starts the
same data directory to check persistence.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
TASK_SPEED = "200"
STARTUP_TIMEOUT = 30.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PvesimServer:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=_free_port)
    extra_args: tuple[str, ...] = ("--seed", "demo")
    fingerprint: str = ""
    root_password: str = ""
    process: subprocess.Popen[str] | None = None
    _log: IO[str] | None = None

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}/api2/json"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "pvesim",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--data",
            str(self.data_dir),
            "--task-speed",
            TASK_SPEED,
            *self.extra_args,
        ]
        log = self._log = (self.data_dir.parent / "pvesim.log").open("a")
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        assert self.process.stdout is not None
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"pvesim exited early, see {log.name}")
            if match := re.match(r"pvesim: fingerprint (\S+)", line):
                self.fingerprint = match.group(1)
            elif match := re.match(r"pvesim: root@pam password (\S+)", line):
                self.root_password = match.group(1)
            elif line.startswith("pvesim: listening"):
                break
        self._wait_until_answering(deadline)

    def _wait_until_answering(self, deadline: float) -> None:
        # The certificate pvesim created is its own CA.
        context = ssl.create_default_context(cafile=str(self.data_dir / "pve-ssl.pem"))
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(
                    f"{self.base_url}/access/domains", context=context, timeout=2
                )
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("pvesim did not answer in time")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        if self._log:
            self._log.close()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def pvesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PvesimServer]:
    base = tmp_path_factory.mktemp("pvesim")
    server = PvesimServer(data_dir=base / "data")
    server.start()
    try:
        yield server
    finally:
        server.stop()
