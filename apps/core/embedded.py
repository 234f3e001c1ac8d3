"""The embedded default's process supervisor: web, Celery worker with beat, and their shutdown."""

import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

STOP_GRACE_SECONDS = 10.0
READY_TIMEOUT_SECONDS = 60.0


@dataclass
class ManagedProcess:
    name: str
    command: Sequence[str]
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        # A session of its own: Ctrl-C reaches only the supervisor, which stops children in order.
        self.process = subprocess.Popen(self.command, start_new_session=True)  # noqa: S603

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def web_process(*, host: str, port: int) -> ManagedProcess:
    return ManagedProcess(
        name="web",
        command=[
            sys.executable,
            "-m",
            "uvicorn",
            "portal.asgi:application",
            "--host",
            host,
            "--port",
            str(port),
            "--no-access-log",
        ],
    )


def worker_process() -> ManagedProcess:
    return ManagedProcess(
        name="worker",
        command=[
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--beat",
            "--concurrency",
            "2",
            "--loglevel",
            "INFO",
        ],
    )


def pvesim_process(*, host: str, port: int, data_dir: str) -> ManagedProcess:
    """The bundled PVE API simulator with its demo cluster (state kept in data_dir)."""
    return ManagedProcess(
        name="pvesim",
        command=[
            sys.executable,
            "-m",
            "pvesim",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--data",
            data_dir,
            "--seed",
            "demo",
        ],
    )


def wait_until_answering(url: str, *, watched: Sequence[ManagedProcess]) -> None:
    """Wait until `url` gives any HTTP answer (an error status counts: the server is up)."""
    # pvesim's certificate is self-signed and created at first start: only reachability matters.
    unverified = ssl._create_unverified_context()  # noqa: S323
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for managed in watched:
            if managed.exited():
                raise RuntimeError(f"{managed.name} exited during start-up")
        try:
            with urllib.request.urlopen(url, timeout=2, context=unverified):  # noqa: S310
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {READY_TIMEOUT_SECONDS:.0f} s")


def stop_on_signals() -> threading.Event:
    """Ctrl-C and SIGTERM set the returned event instead of interrupting whatever runs, so the
    supervisor always gets to stop its children, even during start-up."""
    stop_requested = threading.Event()

    def request_stop(_signum: int, _frame: object) -> None:
        stop_requested.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    return stop_requested


def supervise(processes: Sequence[ManagedProcess], stop_requested: threading.Event) -> str | None:
    """Block until a stop is requested or a process dies; return the name of a dead one."""
    while not stop_requested.wait(0.3):
        for managed in processes:
            if managed.exited():
                return managed.name
    return None


def stop_all(processes: Sequence[ManagedProcess]) -> None:
    """Stop in reverse start order: web first, so no new work arrives while workers drain."""
    for managed in reversed(processes):
        managed.stop()
