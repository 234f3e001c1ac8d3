"""The real processes a soak runs against, each in its own process group so that a SIGKILL
takes its children too: Celery workers and beat, the ASGI web server, and a Redis server of its
own (the machine's shared Redis must not be restarted)."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class Process:
    """A command in its own session, its output appended to `log`."""

    def __init__(self, command: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log_path = log
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        # The whole group, also when its leader is gone: a dead worker's children may be left.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.log.close()

    def stop(self) -> None:
        """A clean shutdown (the main process stops its children), else SIGKILL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=20)
        self.kill()


class WorkerProcess(Process):
    """`celery -A portal worker` (prefork) on the queue the environment names."""

    def __init__(self, env: dict[str, str], log: Path, *, concurrency: int = 4) -> None:
        super().__init__(
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=prefork"),
                *(f"--concurrency={concurrency}", "--queues", env["PORTAL_TEST_QUEUE"]),
                *("--hostname", f"soak-{log.stem}@%h", "--loglevel=WARNING"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            env=env,
            log=log,
        )


class BeatProcess(Process):
    def __init__(self, env: dict[str, str], log: Path) -> None:
        schedule = log.with_name("celerybeat-schedule")
        super().__init__(
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "beat"),
                *("--schedule", str(schedule), "--loglevel=WARNING"),
            ],
            env=env,
            log=log,
        )


class WebServer(Process):
    """uvicorn with the ASGI app (HTTP and the console websockets), its access log on."""

    def __init__(self, env: dict[str, str], log: Path, *, port: int) -> None:
        self.port = port
        super().__init__(
            [
                *(sys.executable, "-m", "uvicorn", "portal.asgi:application"),
                *("--host", "127.0.0.1", "--port", str(port), "--workers", "2"),
                *("--log-level", "info", "--lifespan", "off"),
            ],
            env=env,
            log=log,
        )
        wait_for_port(port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class RedisServer:
    """redis-server on a port of its own, without persistence: a restart loses every queued
    message, as a crashed Redis without an append-only file would."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.server: Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
        ]
        self.server = Process(command, env=dict(os.environ), log=self.directory / "redis.log")
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self, *, down_seconds: float) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()
