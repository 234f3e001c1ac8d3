"""Sharing in Chromium: a tenant admin shares one VM from its page with a sub-user, who then
sees only that VM in their guest list. Guests are rows (no PVE is touched); screenshots go to
test-artifacts/."""

import pytest
from playwright.sync_api import Browser, Page, expect

from apps.access.models import Group
from apps.access.services import pool_set_guest
from apps.clusters.models import Cluster
from apps.guests.models import Guest
from apps.identity.services.users import user_create
from apps.tenancy.resources import Resources
from apps.tenancy.services import tenant_admin_create, tenant_create
from tests.browser.test_login import sign_in
from tests.browser.test_portal import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def acme_with_guests() -> None:
    cluster = Cluster.objects.create(
        name="c1", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    acme = tenant_create(slug="acme", name="ACME", limits=Resources(guests=5))
    tenant_admin_create(tenant=acme, userid="alice@pve", password="alice-password-1")
    bob = user_create(userid="bob@pve", password="bob-password-1", tenant=acme)
    Group.objects.get(name="acme").members.add(bob)
    for vmid, name in ((101, "web"), (102, "db")):
        Guest.objects.create(
            vmid=vmid,
            cluster=cluster,
            node="pve1",
            type="qemu",
            name=name,
            status="running",
            tenant=acme,
            pool="acme",
        )
        pool_set_guest(vmid=vmid, pool_name="acme")


def test_an_admin_shares_one_vm_with_a_sub_user(
    page: Page, browser: Browser, live_server, acme_with_guests
) -> None:
    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    page.goto(f"{live_server.url}/guests/101/")
    sharing = page.locator("#sharing")
    expect(sharing.get_by_test_id("sharing-panel")).to_be_visible()  # loaded by htmx
    expect(sharing).to_contain_text("Not shared with anyone")
    sharing.get_by_label("User or group").select_option("user:bob@pve")
    sharing.get_by_label("Role").select_option("PVEVMUser")
    sharing.get_by_role("button", name="Share").click()
    expect(page.get_by_text("101 (web) is shared.")).to_be_visible()
    expect(sharing.locator('[data-share="bob@pve"]')).to_contain_text("PVEVMUser")
    screenshot(page, "guest-sharing")

    context = browser.new_context()
    bobs = context.new_page()
    bobs.set_default_timeout(10_000)
    sign_in(bobs, live_server.url, username="bob", realm="pve", password="bob-password-1")
    bobs.get_by_role("navigation", name="Main").get_by_role("link", name="Guests").click()
    rows = bobs.locator("tr[data-guest]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-guest", "101")
    expect(bobs.get_by_role("link", name="Organisation")).to_have_count(0)
    screenshot(bobs, "sub-user-guest-list")

    # Revoked, the VM is gone from the sub-user's list.
    sharing.get_by_role("button", name="Revoke access of bob@pve").click()
    expect(page.get_by_text("Access revoked.")).to_be_visible()
    bobs.reload()
    expect(bobs.locator("tr[data-guest]")).to_have_count(0)
    context.close()
