"""Production settings refuse to start half-configured and pass Django's deployment checks."""

import secrets

import pytest
from cryptography.fernet import Fernet

from tests.conftest import run_manage

pytestmark = pytest.mark.embedded

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(64),
    "DJANGO_ALLOWED_HOSTS": "portal.example.com",
    "DATABASE_URL": "postgres://portal:portal@db.example.com:5432/portal",
    "REDIS_URL": "redis://cache.example.com:6379/0",
    "PORTAL_SECRETS_KEYS": Fernet.generate_key().decode(),
}


@pytest.fixture
def production_env(embedded_env: dict[str, str]) -> dict[str, str]:
    return {**embedded_env, **PRODUCTION_ENV}


def test_deploy_checks_are_clean_under_production_settings(production_env) -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DJANGO_SECRET_KEY", "", "DJANGO_SECRET_KEY must be set"),
        ("DJANGO_SECRET_KEY", "short", "DJANGO_SECRET_KEY must be set"),
        ("DJANGO_ALLOWED_HOSTS", "", "DJANGO_ALLOWED_HOSTS must list"),
        ("DATABASE_URL", "sqlite:////tmp/portal.sqlite3", "DATABASE_URL must point at PostgreSQL"),
        ("REDIS_URL", "", "REDIS_URL must be set"),
        ("PORTAL_SECRETS_KEYS", "", "PORTAL_SECRETS_KEYS must hold"),
    ],
)
def test_production_refuses_to_start_without(production_env, variable, value, message) -> None:
    result = run_manage("check", env={**production_env, variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_logs_json_lines(production_env) -> None:
    result = run_manage(
        "shell",
        "-c",
        "import logging; logging.getLogger('portal').warning('hello %s', 'json')",
        env=production_env,
    )
    assert result.returncode == 0, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert '"message": "hello json"' in line
    assert '"level": "WARNING"' in line
