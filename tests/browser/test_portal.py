"""The customer portal in Chromium against pvesim, with a real Celery worker: a customer creates
a VM through the wizard and watches it start without reloading, stops it and deletes it; an
over-quota create is refused in the wizard; a suspended tenant's users get read-only pages.

The live server is Django's (no websockets), the channel layer cannot reach it from the worker:
the pages fall back to polling, as in the embedded default. Screenshots go to test-artifacts/.
"""

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from apps.access.services import acl_modify
from apps.guests.models import Guest
from apps.guests.services import guest_create
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.tenancy.models import Plan, Tenant
from tests.browser.test_login import sign_in
from tests.guests.conftest import (  # noqa: F401 - fixtures
    acme,
    cluster,
    small,
    wait_until_terminal,
    worker,
)

pytestmark = pytest.mark.django_db(transaction=True)

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Creating a VM on pvesim takes seconds (clone, configure, grow, start): wait for it, not a time.
LONG = 90_000


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def alice(acme):  # noqa: F811
    user = user_create(userid="alice@pve", password="alice-password-1", tenant=acme)
    acl_modify(path=f"/pool/{acme.slug}", roles=["PVEVMAdmin"], users=["alice@pve"])
    return user


def test_customer_creates_watches_stops_and_deletes_a_vm(
    page: Page,
    live_server,
    alice,
    acme,  # noqa: F811
    small,  # noqa: F811
    worker,  # noqa: F811
    pvesim_root,
) -> None:
    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("quota-usage")).to_contain_text("Guests")
    screenshot(page, "dashboard-empty")

    page.get_by_role("link", name="New guest").click()
    page.get_by_label("Small").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("debian", exact=False).first.check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Name", exact=True).fill("web1")
    page.get_by_label("Password").fill("web1-password")
    page.get_by_label("SSH public keys").fill("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG alice@laptop")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    expect(page.get_by_test_id("quota-usage")).to_contain_text("0 + 1 = 1")
    screenshot(page, "wizard-review")
    page.get_by_role("button", name="Create guest").click()

    # The detail page follows the create operation until the VM runs, without a reload.
    expect(page.get_by_role("heading", name="web1")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    status = page.locator("[data-field=status]")
    expect(status).to_have_text("running", timeout=LONG)
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator("[data-operation] [data-field=state]").first).to_have_text("Succeeded")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    screenshot(page, "guest-running")
    guest = Guest.objects.get(name="web1", tenant=acme)
    assert guest.status == "running"
    assert pvesim_root.nodes(guest.node).qemu(guest.vmid).status.current.get()["status"] == (
        "running"
    )

    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Stop requested.")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    expect(status).to_have_text("stopped", timeout=LONG)
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.get_by_role("button", name="Start")).to_be_visible()
    screenshot(page, "guest-stopped")

    # A wrong confirmation deletes nothing.
    page.get_by_label("Type the guest's name to confirm").fill("web2")
    page.get_by_role("button", name="Delete this guest").click()
    expect(page.get_by_text("That is not the guest's name.")).to_be_visible()
    assert not Operation.objects.filter(guest=guest, kind="guest.delete").exists()

    page.get_by_label("Type the guest's name to confirm").fill("web1")
    page.get_by_role("button", name="Delete this guest").click()
    expect(status).to_have_text("destroyed", timeout=LONG)
    screenshot(page, "guest-deleted")
    vmids = {int(r["vmid"]) for r in pvesim_root.cluster.resources.get(type="vm")}
    assert guest.vmid not in vmids

    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Guests", exact=True).click()
    expect(page.get_by_text("No guests match.")).to_be_visible()
    nav.get_by_role("link", name="Operations", exact=True).click()
    page.get_by_role("link", name="Create").first.click()
    expect(page.get_by_test_id("steps")).to_contain_text("guest_clone")
    screenshot(page, "operation-log")


def test_an_over_quota_create_shows_the_refusal_in_the_wizard(
    page: Page,
    live_server,
    alice,
    acme,  # noqa: F811
) -> None:
    Plan.objects.create(name="Huge", slug="huge", cores=8, memory_mb=2048, disk_gb=40)
    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    page.goto(f"{live_server.url}/guests/new/")
    page.get_by_label("Huge").check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("debian", exact=False).first.check()
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Name", exact=True).fill("big1")
    page.get_by_role("button", name="Next").click()
    # The review says so before anything is asked of PVE...
    expect(page.get_by_test_id("quota-usage")).to_contain_text("over quota")
    page.get_by_role("button", name="Create guest").click()
    # ...and the service's refusal (the API's 409) is shown in the wizard.
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("quota exceeded")
    expect(refusal).to_contain_text("vcpus: 0 in use + 8 requested > 4 allowed")
    screenshot(page, "wizard-over-quota")
    assert not Guest.objects.filter(tenant=acme).exists()
    assert not Operation.objects.exists()


def test_an_operator_suspends_a_tenant_and_its_users_get_read_only_pages(
    browser,
    page: Page,
    live_server,
    alice,
    acme,  # noqa: F811
    small,  # noqa: F811
    worker,  # noqa: F811
) -> None:
    made = guest_create(tenant=acme, plan=small, template_vmid=9000, name="app1", actor=alice)
    assert wait_until_terminal(str(made.pk)).state == "succeeded"
    guest = Guest.objects.get(pk=made.guest_id)
    user_create(userid="operator@pve", password="operator-password-1", is_staff=True)
    # alice watches her operations panel meanwhile.
    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    page.goto(f"{live_server.url}/operations/")
    expect(page.get_by_test_id("operations").locator("tbody tr")).to_have_count(1)  # the create
    page.evaluate("window.stillTheSamePage = true")

    operator_page = browser.new_context().new_page()
    sign_in(
        operator_page,
        live_server.url,
        username="operator",
        realm="pve",
        password="operator-password-1",
    )
    operator_page.goto(f"{live_server.url}/admin/tenancy/tenant/")
    operator_page.get_by_role("row", name=acme.name).get_by_role("checkbox").check()
    operator_page.locator("select[name=action]").select_option("suspend")
    operator_page.get_by_role("button", name="Go").click()
    expect(operator_page.get_by_text(f"{acme.slug} suspended")).to_be_visible()
    screenshot(operator_page, "operator-suspended-tenant")
    assert Tenant.objects.get(pk=acme.pk).status == "suspended"

    # The stop the suspension made shows up in alice's panel, and ends, without a reload.
    stop_row = page.get_by_test_id("operations").locator("tbody tr").filter(has_text="Stop")
    expect(stop_row.locator("[data-field=state]")).to_have_text("Succeeded", timeout=LONG)
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "operations-panel-live")

    page.goto(f"{live_server.url}/")
    expect(page.get_by_test_id("read-only")).to_contain_text("suspended")
    expect(page.get_by_role("link", name="New guest")).to_have_count(0)
    page.goto(f"{live_server.url}/guests/{guest.vmid}/")
    expect(page.get_by_test_id("read-only")).to_contain_text("read-only")
    expect(page.get_by_test_id("power-buttons")).to_have_count(0)
    expect(page.get_by_role("button", name="Save settings")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete this guest")).to_have_count(0)
    expect(page.locator("[data-field=status]")).to_have_text("stopped")
    screenshot(page, "suspended-guest-read-only")

    # A post made anyway (an old page, a crafted request) is refused and changes nothing.
    before = Operation.objects.count()
    answer = page.evaluate(
        """async (url) => {
            const body = new FormData();
            body.append("csrfmiddlewaretoken",
                document.querySelector("input[name=csrfmiddlewaretoken]").value);
            const response = await fetch(url, {method: "POST", body});
            return await response.text();
        }""",
        f"{live_server.url}/guests/{guest.vmid}/power/start/",
    )
    assert "read-only" in answer
    assert Operation.objects.count() == before
    page.goto(f"{live_server.url}/guests/new/")
    expect(page.get_by_role("alert")).to_contain_text("read-only")
    page.goto(f"{live_server.url}/guests/")
    expect(page.get_by_role("button", name="Stop selected")).to_have_count(0)


def test_phone_sized_screen_and_keyboard_only(
    page: Page,
    live_server,
    alice,
    acme,  # noqa: F811
    small,  # noqa: F811
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    guests_link = nav.get_by_role("link", name="Guests", exact=True)
    expect(guests_link).to_be_hidden()  # folded into the menu
    screenshot(page, "phone-dashboard")
    nav.get_by_role("button", name="Menu").click()
    guests_link.click()
    expect(page.get_by_role("heading", name="Guests")).to_be_visible()

    # The first Tab offers to skip the navigation.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

    # The wizard by keyboard: Space picks, Enter goes on (never back).
    page.goto(f"{live_server.url}/guests/new/")
    page.get_by_label("Small").focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Choose what to install")).to_be_visible()
    page.get_by_label("debian", exact=False).first.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Name and access")).to_be_visible()
    page.get_by_label("Name", exact=True).focus()
    page.keyboard.type("kb1")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Review")).to_be_visible()
    screenshot(page, "phone-wizard-review")
    assert not Guest.objects.filter(name="kb1").exists()
