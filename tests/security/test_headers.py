"""Security headers on the portal's pages: a Content-Security-Policy that allows no inline
script (and pages that have none), no framing, no MIME sniffing, a same-origin referrer; HSTS
under production settings. tests/security/test_csp_in_browser.py checks Chromium finds
nothing to block on these pages."""

import json
import re

import pytest
from django.test import Client

from apps.identity.services.users import user_create
from tests.conftest import run_manage
from tests.core.test_settings import PRODUCTION_ENV

PAGES = [
    "/login/",
    "/",
    "/guests/",
    "/operations/",
    "/account/security/",
    "/api/docs/",
    "/api/redoc/",
    "/admin/",
]


@pytest.fixture
def operator_client(db) -> Client:
    client = Client()
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    return client


def csp_of(response) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (
            directive.split() for directive in response["Content-Security-Policy"].split(";")
        )
    }


@pytest.mark.parametrize("url", PAGES)
def test_pages_send_the_security_headers(operator_client, url) -> None:
    response = operator_client.get(url)
    assert response.status_code == 200
    policy = csp_of(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("url", PAGES)
def test_pages_have_no_inline_scripts_or_event_handlers(operator_client, url) -> None:
    html = operator_client.get(url).content.decode()
    scripts = re.findall(r"<script\b([^>]*)>", html)
    # JSON data islands (json_script) are not run: the policy does not apply to them.
    inline = [attrs for attrs in scripts if "src=" not in attrs and "application/json" not in attrs]
    assert inline == []
    assert re.findall(r"<[^>]+\son[a-z]+\s*=", html) == []
    assert "javascript:" not in html


def test_swagger_ui_loads_its_start_up_script_as_a_file(operator_client) -> None:
    page = operator_client.get("/api/docs/").content.decode()
    script_url = re.search(r'<script src="([^"]*\?[^"]*script[^"]*)"', page).group(1)
    script = operator_client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_hsts_under_production_settings(embedded_env) -> None:
    probe = (
        "import json; from django.test import Client; "
        "r = Client().get('/healthz', secure=True, headers={'host': 'portal.example.com'}); "
        "print(json.dumps(dict(r.headers)))"
    )
    result = run_manage("shell", "-c", probe, env={**embedded_env, **PRODUCTION_ENV})
    assert result.returncode == 0, result.stderr
    headers = json.loads(result.stdout.strip().splitlines()[-1])
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
