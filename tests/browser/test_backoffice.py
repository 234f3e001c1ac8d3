"""The back-office in Chromium: an operator suspends a tenant from the tenants page, and that
tenant's user then finds their dashboard and guest pages read-only. Screenshots go to
test-artifacts/."""

import pytest
from playwright.sync_api import Page, expect

from apps.access.services import acl_modify, pool_set_guest
from apps.audit.models import AuditEvent
from apps.clusters.models import Cluster, Node
from apps.guests.models import Guest
from apps.identity.services.users import user_create
from apps.tenancy.models import Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import tenant_create
from tests.browser.test_login import sign_in
from tests.browser.test_portal import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_suspends_a_tenant_from_the_back_office(
    browser, page: Page, live_server
) -> None:
    cluster = Cluster.objects.create(
        name="c1", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    Node.objects.create(cluster=cluster, name="pve1", online=True)
    acme = tenant_create(slug="acme", name="ACME", limits=Resources(guests=3, vcpus=4))
    guest = Guest.objects.create(
        vmid=100,
        cluster=cluster,
        node="pve1",
        type="qemu",
        name="app1",
        status="stopped",
        tenant=acme,
        pool="acme",
    )
    pool_set_guest(vmid=guest.vmid, pool_name="acme")
    user_create(userid="alice@pve", password="alice-password-1", tenant=acme)
    acl_modify(path="/pool/acme", roles=["PVEVMAdmin"], users=["alice@pve"])
    user_create(userid="operator@pve", password="operator-password-1", is_staff=True)

    operator_page = browser.new_context().new_page()
    sign_in(
        operator_page,
        live_server.url,
        username="operator",
        realm="pve",
        password="operator-password-1",
    )
    operator_page.get_by_role("link", name="Back-office").click()
    expect(operator_page.get_by_role("heading", name="Back-office")).to_be_visible()
    screenshot(operator_page, "backoffice-dashboard")
    # The tree fetches a node's guests when its branch is opened.
    operator_page.get_by_role("link", name="Resources").click()
    operator_page.locator('[data-node="pve1"] summary').click()
    expect(operator_page.get_by_test_id("branch-guests")).to_contain_text("100 app1")
    screenshot(operator_page, "backoffice-tree")
    operator_page.get_by_role("link", name="Tenants").click()
    row = operator_page.get_by_test_id("tenants").locator('tr[data-tenant="acme"]')
    expect(row.locator("[data-field=status]")).to_have_text("Active")
    row.get_by_role("button", name="Suspend acme").click()
    expect(operator_page.get_by_text("acme suspended, 0 guests stopping.")).to_be_visible()
    expect(row.locator("[data-field=status]")).to_have_text("Suspended")
    expect(row.get_by_role("button", name="Unsuspend acme")).to_be_visible()
    screenshot(operator_page, "backoffice-tenant-suspended")
    assert Tenant.objects.get(pk=acme.pk).status == "suspended"
    assert AuditEvent.objects.get(action="tenancy.tenant_suspended").actor == "operator@pve"

    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    expect(page.get_by_test_id("read-only")).to_contain_text("suspended")
    expect(page.get_by_role("link", name="Back-office")).to_have_count(0)
    page.goto(f"{live_server.url}/guests/{guest.vmid}/")
    expect(page.get_by_role("heading", name="app1")).to_be_visible()
    expect(page.get_by_test_id("read-only")).to_contain_text("read-only")
    expect(page.get_by_test_id("power-buttons")).to_have_count(0)
    screenshot(page, "backoffice-suspended-tenant-guest")
    # The back-office does not exist for her.
    assert page.goto(f"{live_server.url}/operator/tenants/").status == 404
