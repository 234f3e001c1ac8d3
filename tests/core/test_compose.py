"""docker-compose.yml is valid with the documented .env (no Docker engine runs here)."""

import shutil
import subprocess

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.embedded


def test_compose_file_is_valid_and_describes_the_production_topology(tmp_path) -> None:
    shutil.copy(REPO_ROOT / "docker-compose.yml", tmp_path)
    shutil.copy(REPO_ROOT / ".env.example", tmp_path / ".env")

    result = subprocess.run(
        ["docker-compose", "--profile", "dev", "config"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    for service in (
        "postgres:",
        "redis:",
        "migrate:",
        "web:",
        "worker:",
        "beat:",
        "proxy:",
        "pvesim:",
    ):
        assert f"\n  {service}\n" in result.stdout
    assert "replicas: 2" in result.stdout
