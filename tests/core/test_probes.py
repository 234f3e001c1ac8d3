"""Probes and request ids, through Django's test client."""

import pytest

from apps.identity.services.users import user_create

pytestmark = pytest.mark.embedded


def test_healthz_needs_no_database_and_is_never_cached(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert "no-cache" in response["Cache-Control"]


def test_probes_refuse_unsafe_methods(client) -> None:
    assert client.post("/healthz").status_code == 405


def test_request_id_is_generated_and_echoed(client) -> None:
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32

    echoed = client.get("/healthz", headers={"X-Request-ID": "req-1234"})
    assert echoed["X-Request-ID"] == "req-1234"


@pytest.mark.django_db
def test_dashboard_requires_login_and_greets_the_user(client) -> None:
    assert client.get("/").status_code == 302
    user = user_create(userid="carol@pve", password="x")
    client.force_login(user)
    response = client.get("/")
    assert response.status_code == 200
    assert b"Signed in as carol@pve" in response.content
