"""Fixtures shared by the whole suite."""

import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services.network import free_port, stop

pytest_plugins = [
    "tests.services.slapd",
    "tests.services.samba",
    "tests.pvesim_server",
    "tests.services.pve_access",
]

REPO_ROOT = Path(__file__).resolve().parents[1]


def wait_for_http(url: str, *, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@pytest.fixture(autouse=True)
def _fresh_access_model() -> None:
    """Each test's database starts from scratch, so no compiled ACL model may be reused."""
    from apps.access.compiled import bump_shared_version

    bump_shared_version()


@pytest.fixture
def redis_url() -> str:
    """The Redis the machine runs (CI and development machines both have one on 6379)."""
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    """Environment of a fresh embedded portal: its own data folder, SQLite, no Redis."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings.local",
        PORTAL_DATA_DIR=str(tmp_path / "data"),
        PORTAL_READ_DOT_ENV="false",
    )
    return env


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@contextlib.contextmanager
def portal_over_uvicorn(env: dict[str, str]) -> Iterator[str]:
    """portal.asgi served by a uvicorn process with `env`; yields its base URL once it answers."""
    port = free_port()
    listen = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "portal.asgi:application", *listen],
        cwd=REPO_ROOT,
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base_url}/healthz", process=process)
        yield base_url
    finally:
        stop(process)


@pytest.fixture
def asgi_server(embedded_env: dict[str, str]) -> Iterator[str]:
    """A migrated embedded portal served by uvicorn; yields its base URL."""
    migrated = run_manage("migrate", "--no-input", env=embedded_env)
    assert migrated.returncode == 0, migrated.stderr
    with portal_over_uvicorn(embedded_env) as base_url:
        yield base_url
