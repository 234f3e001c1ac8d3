"""The task panel at the bottom of every page, in Chromium against the ASGI portal with the
worker publishing progress on Redis (the fixtures of test_portal_live.py): an operation made
elsewhere appears and reaches 'succeeded' without a reload, told by the websocket; its row opens
the task log. The panel opens and closes from the keyboard, remembers that per browser and
starts closed on a phone."""

import pytest
from playwright.sync_api import Page, expect

from apps.guests.services import guest_create
from tests.browser.test_login import sign_in
from tests.browser.test_portal import LONG, alice, screenshot  # noqa: F401 - fixture
from tests.browser.test_portal_live import asgi_portal, redis_channel_layer  # noqa: F401
from tests.browser.waiting import wait_until
from tests.guests.conftest import (  # noqa: F401 - fixtures
    acme,
    cluster,
    small,
    wait_until_terminal,
    worker,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operation_made_elsewhere_appears_succeeds_and_opens_its_task_log(
    page: Page,
    asgi_portal: str,  # noqa: F811
    alice,  # noqa: F811
    acme,  # noqa: F811
    small,  # noqa: F811
    worker,  # noqa: F811
) -> None:
    sign_in(page, asgi_portal, username="alice", realm="pve", password="alice-password-1")
    panel = page.get_by_role("region", name="Tasks")
    expect(panel.get_by_role("button", name="Tasks")).to_have_attribute("aria-expanded", "true")
    expect(panel).to_contain_text("No operations yet.")
    wait_until(page, "window.portalTaskPanel.socket === 'open'")
    page.evaluate("window.stillTheSamePage = true")

    # As the REST API or a billing webhook would: not through this page.
    made = guest_create(tenant=acme, plan=small, template_vmid=9000, name="panel1", actor=alice)

    row = panel.locator(f'[data-task="{made.pk}"]')
    expect(row).to_contain_text("Create")
    expect(row).to_contain_text("alice@pve")
    expect(row).to_have_attribute("data-task-state", "succeeded", timeout=LONG)
    expect(row).to_contain_text("Succeeded")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.evaluate("window.portalTaskPanel.events") > 0
    screenshot(page, "task-panel-succeeded")

    row.get_by_role("cell", name="panel1").click()  # anywhere on the row, as in PVE
    expect(page).to_have_url(f"{asgi_portal}/operations/{made.pk}/")
    expect(page.get_by_test_id("steps")).to_contain_text("guest_clone")
    expect(page.locator(".task-log").first).to_contain_text("TASK OK")


def test_the_panel_toggles_by_keyboard_remembers_it_and_starts_closed_on_a_phone(
    page: Page,
    asgi_portal: str,  # noqa: F811
    alice,  # noqa: F811
) -> None:
    sign_in(page, asgi_portal, username="alice", realm="pve", password="alice-password-1")
    toggle = page.get_by_role("region", name="Tasks").get_by_role("button", name="Tasks")
    rows = page.locator("#task-panel-rows")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(rows).to_be_visible()

    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(rows).to_be_hidden()
    page.reload()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.focus()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(rows).to_contain_text("No operations yet.")

    phone = page.context.browser.new_context(viewport={"width": 390, "height": 844})
    try:
        on_phone = phone.new_page()
        sign_in(on_phone, asgi_portal, username="alice", realm="pve", password="alice-password-1")
        phone_toggle = on_phone.get_by_role("button", name="Tasks")
        expect(phone_toggle).to_have_attribute("aria-expanded", "false")
        expect(on_phone.locator("#task-panel-rows")).to_be_hidden()
        phone_toggle.click()
        expect(on_phone.locator("#task-panel-rows")).to_contain_text("No operations yet.")
    finally:
        phone.close()
