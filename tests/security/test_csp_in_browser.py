"""The Content-Security-Policy blocks nothing the portal's pages need: Chromium reports no
violation (and no script error) on the customer's pages, a guest's page and console, the API
docs and the admin, and the pages that run scripts render what their scripts draw."""

import pytest
from playwright.sync_api import Page, expect

from apps.identity.models import Realm
from apps.identity.services.users import user_create
from tests.browser.test_login import sign_in
from tests.consoles.fixtures import ALICE_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def problems(page: Page) -> list[str]:
    """Every CSP violation and uncaught script error the page reports."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def test_customer_pages_run_under_the_policy(
    live_server, page: Page, problems, alice, running_vm
) -> None:
    sign_in(page, live_server.url, username="alice", realm="pve", password=ALICE_PASSWORD)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    for path in ("/guests/", f"/guests/{running_vm.vmid}/", "/operations/", "/account/security/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/guests/{running_vm.vmid}/console/")
    # noVNC's module ran: Django's live server has no websockets, so it ends disconnected (the
    # console itself, through the ASGI server: tests/browser/test_consoles.py).
    expect(page.locator("#console-reconnect")).to_be_visible()
    assert problems == []


def test_api_docs_and_admin_run_under_the_policy(live_server, page: Page, problems) -> None:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    user_create(userid="op@pve", password="operator-pw-1", is_staff=True)
    sign_in(page, live_server.url, username="op", realm="pve", password="operator-pw-1")
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Proxmox VE")
    page.goto(f"{live_server.url}/api/redoc/")
    expect(
        page.get_by_role("heading", name="Proxmox VE self-service portal API").first
    ).to_be_visible()
    page.goto(f"{live_server.url}/admin/")
    page.wait_for_load_state("networkidle")
    # Redoc's "powered by" logo comes from Redocly's CDN: blocked on purpose, nothing is
    # loaded from elsewhere.
    assert [text for text in problems if "https://cdn.redoc.ly/" not in text] == []
