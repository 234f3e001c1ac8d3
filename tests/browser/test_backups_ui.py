"""The guest page's tabs in Chromium against pvesim with a real Celery worker: graphs and
snapshots load when their tab opens; a customer backs a VM up from its Backups tab and sees the
backup listed once the operation has ended (the list looks again by itself while one runs),
then restores it to a new guest and finds that guest in the list. Screenshots go to
test-artifacts/."""

import pytest
from playwright.sync_api import Page, expect

from apps.access.services.groups import group_create
from apps.backups.models import Backup
from apps.backups.services import tenant_backup_storage_set
from apps.guests.models import Guest
from apps.guests.services import guest_create
from apps.tenancy.services import quota_set, tenant_admin_grant
from tests.backups.conftest import ROOMY
from tests.browser.test_login import sign_in
from tests.browser.test_portal import LONG, alice, screenshot
from tests.guests.conftest import acme, cluster, small, wait_until_terminal, worker

__all__ = ["acme", "alice", "cluster", "small", "worker"]  # fixtures

pytestmark = pytest.mark.django_db(transaction=True)


def test_customer_backs_up_a_vm_and_restores_it_to_a_new_guest(
    page: Page, live_server, alice, acme, small, worker
) -> None:
    quota_set(tenant=acme, limits=ROOMY)
    group_create(name=acme.slug)  # the guest tests' tenant is bare
    tenant_admin_grant(tenant=acme, user=alice)
    tenant_backup_storage_set(tenant=acme, storage="local")
    made = guest_create(tenant=acme, plan=small, template_vmid=9000, name="web1", actor=alice)
    assert wait_until_terminal(str(made.pk), timeout=LONG / 1000).state == "succeeded"
    vm = Guest.objects.get(pk=made.guest_id)

    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    page.goto(f"{live_server.url}/guests/{vm.vmid}/")
    # The other tabs load the same way: graphs with their timeframes, the snapshot tree.
    page.get_by_role("tab", name="Graphs").click()
    expect(page.locator("[data-chart]")).to_have_count(4)
    page.locator("#graphs-panel").get_by_role("link", name="Day").click()
    expect(page.locator('#graphs-panel [aria-current="true"]')).to_have_text("Day")
    screenshot(page, "guest-graphs-tab")
    page.get_by_role("tab", name="Snapshots").click()
    expect(page.get_by_test_id("snapshot-tree")).to_contain_text("Now")
    screenshot(page, "guest-snapshots-tab")

    page.get_by_role("tab", name="Backups").click()
    panel = page.locator("#backups-panel")  # fetched by htmx when the tab opens
    expect(panel.get_by_test_id("no-backups")).to_be_visible()
    back_up = panel.get_by_role("form", name="Back up now")
    back_up.get_by_label("Mode").select_option("snapshot")
    back_up.get_by_label("Notes").fill("before the upgrade")
    back_up.get_by_role("button", name="Back up now").click()

    expect(page.get_by_text(f"Backing up {vm}.")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")
    row = page.locator("#backups-panel [data-backup]")
    expect(row).to_contain_text("before the upgrade", timeout=LONG)
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.get_by_test_id("backup-in-flight")).to_have_count(0)
    screenshot(page, "guest-backups-tab")
    backup = Backup.objects.get(guest=vm)
    assert backup.notes == "before the upgrade"

    row.get_by_role("link", name="Restore…").click()
    expect(page.get_by_role("heading", name="Restore a backup")).to_be_visible()
    page.get_by_label("Name of the new guest").fill("web1-copy")
    page.get_by_label("Plan").select_option("small")
    screenshot(page, "backup-restore")
    page.get_by_role("button", name="Restore to a new guest").click()

    expect(page.get_by_role("heading", name="web1-copy")).to_be_visible()
    expect(page.locator("[data-field=status]")).to_have_text("running", timeout=LONG)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Guests", exact=True).click()
    expect(page.get_by_role("link", name="web1-copy")).to_be_visible()
    screenshot(page, "guest-list-with-restored-guest")

    nav.get_by_role("link", name="Backups", exact=True).click()
    expect(page.locator("[data-backup]")).to_contain_text("before the upgrade")
    screenshot(page, "tenant-backups")
