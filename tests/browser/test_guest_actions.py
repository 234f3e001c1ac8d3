"""The guest page's Manage tab in Chromium against pvesim, with a real Celery worker: a customer
resizes a VM to a larger plan and sees its new size once the operation has ended, without a
reload (the page polls, as in the embedded default). Screenshots go to test-artifacts/."""

import pytest
from playwright.sync_api import Page, expect

from apps.guests.models import Guest
from apps.guests.services import guest_create
from apps.tenancy.models import Plan
from tests.browser.test_login import sign_in
from tests.browser.test_portal import LONG, alice, screenshot
from tests.guests.conftest import (  # noqa: F401 - fixtures
    acme,
    cluster,
    small,
    wait_until_terminal,
    worker,
)

__all__ = ["alice"]  # a fixture

pytestmark = pytest.mark.django_db(transaction=True)


def test_customer_resizes_a_vm_to_a_larger_plan(
    page: Page,
    live_server,
    alice,
    acme,  # noqa: F811
    small,  # noqa: F811
    worker,  # noqa: F811
    pvesim_root,
) -> None:
    Plan.objects.create(name="Medium", slug="medium", cores=4, memory_mb=4096, disk_gb=60)
    made = guest_create(tenant=acme, plan=small, template_vmid=9000, name="app1", actor=alice)
    assert wait_until_terminal(str(made.pk)).state == "succeeded"
    guest = Guest.objects.get(pk=made.guest_id)

    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    page.goto(f"{live_server.url}/guests/{guest.vmid}/")
    disk = page.locator("[data-field=disk]")
    expect(disk).to_have_text("40 GiB")
    page.get_by_role("tab", name="Manage").click()
    resize = page.get_by_test_id("resize")
    resize.get_by_label("New plan").select_option("medium")
    screenshot(page, "guest-manage")
    resize.get_by_role("button", name="Resize").click()

    expect(page.get_by_text("Resizing to plan Medium.")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    expect(page.locator("[data-operation] [data-field=state]").first).to_have_text(
        "Succeeded", timeout=LONG
    )
    expect(disk).to_have_text("60 GiB", timeout=LONG)
    expect(page.locator("[data-field=memory]")).to_have_text("4,096 MiB")
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "guest-resized")
    config = pvesim_root.nodes(guest.node).qemu(guest.vmid).config.get()
    assert (int(config["cores"]), int(config["memory"])) == (4, 4096)
    assert "size=60G" in config["scsi0"]
