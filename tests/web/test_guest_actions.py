"""The guest page's Manage tab (resize, reinstall, copy), cancelling operations from the pages,
and numbers and dates in the active language. Each action goes through its service: on pvesim
it runs to the end; a refusal is shown on its form and changes nothing; another tenant's guests
and operations answer 404."""

import re
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import timezone

from apps.access.services import acl_modify, pool_set_guest
from apps.audit.services import Actor
from apps.guests.models import Guest
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.tenancy.models import Plan
from apps.tenancy.resources import Resources
from apps.tenancy.services import tenant_admin_create, tenant_create
from portal.celery import app as celery_app
from pvecore.guestconfig import parse_property_string
from tests.guests.conftest import cloned_vmid, cluster
from tests.guests.test_lost_answers import drive

__all__ = ["cloned_vmid", "cluster"]  # fixtures

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def vm(portal) -> Guest:
    """ACME's running VM 1001 on plan small (1 vCPU, 512 MiB, 5 GiB disk)."""
    return portal.add_guests(2)[1]


@pytest.fixture
def medium(portal) -> Plan:
    return Plan.objects.create(name="Medium", slug="medium", cores=2, memory_mb=2048, disk_gb=20)


def pending(portal, guest: Guest, kind: str = "guest.resize") -> Operation:
    return operation_create(
        kind=kind,
        cluster=portal.cluster,
        guest=guest,
        tenant=portal.acme,
        target=guest.acl_path,
        actor=Actor.user(portal.alice),
        steps=[("guest_power", {"action": "start"})],
    )


# The Manage tab --------------------------------------------------------------------------


def test_the_manage_tab_offers_larger_plans_templates_and_a_copy(portal, vm, medium) -> None:
    Plan.objects.create(name="Tiny", slug="tiny", cores=1, memory_mb=256, disk_gb=2)
    page = portal.client.get("/guests/1001/").content.decode()
    assert 'hx-get="/guests/1001/manage/"' in page  # fetched when the tab shows

    response = portal.client.get("/guests/1001/manage/", **HX)
    assert response.status_code == 200
    panel = response.content.decode()
    resize = panel[panel.index('data-testid="resize"') : panel.index('data-testid="copy"')]
    assert '<option value="medium">Medium · 2 vCPU, 2,048 MiB, 20 GiB</option>' in resize
    assert 'value="tiny"' not in resize  # its disk is smaller than the guest's
    assert 'value="small"' not in resize  # the guest's own plan
    assert '<option value="9000">debian12-cloud</option>' in panel  # reinstall from
    assert 'name="copy-name" value="web-1001-copy"' in panel


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/guests/200/manage/"),
        ("post", "/guests/200/resize/"),
        ("post", "/guests/200/reinstall/"),
        ("post", "/guests/200/copy/"),
    ],
)
def test_foreign_guests_are_missing_from_every_action(portal, medium, method, url) -> None:
    data = {"resize-plan": "medium", "copy-name": "x", "copy-plan": "medium"}
    response = getattr(portal.client, method)(url, data if method == "post" else None)
    assert response.status_code == 404
    assert not Operation.objects.exists()


def test_resize_makes_a_resize_operation_through_the_service(portal, vm, medium) -> None:
    response = portal.client.post("/guests/1001/resize/", {"resize-plan": "medium"})
    assert response.status_code == 302
    assert response["Location"] == "/guests/1001/"
    operation = Operation.objects.get()
    assert (operation.kind, operation.guest) == ("guest.resize", vm)
    assert operation.params["resize"] == {
        "cores": 2,
        "memory_mb": 2048,
        "disk_gb": 20,
        "plan": medium.pk,
    }


def test_resize_refusals_show_on_the_form_and_change_nothing(portal, vm, medium) -> None:
    Plan.objects.create(name="Tiny", slug="tiny", cores=1, memory_mb=256, disk_gb=2)
    Plan.objects.create(name="Huge", slug="huge", cores=16, memory_mb=2048, disk_gb=20)
    client = portal.client

    over = client.post("/guests/1001/resize/", {"resize-plan": "huge"})
    assert over.status_code == 409
    assert "vcpus: 2 in use + 15 requested &gt; 4 allowed" in over.content.decode()

    shrink = client.post("/guests/1001/resize/", {"resize-plan": "tiny"})
    assert shrink.status_code == 400
    assert "PVE cannot shrink disks" in shrink.content.decode()

    unknown = client.post("/guests/1001/resize/", {"resize-plan": "nope"})
    assert unknown.status_code == 400
    assert "Select a valid choice" in unknown.content.decode()

    assert not Operation.objects.exists()
    busy = pending(portal, vm, kind="guest.reinstall")
    response = client.post("/guests/1001/resize/", {"resize-plan": "medium"})
    assert response.status_code == 400
    assert "has an operation in progress (guest.reinstall)" in response.content.decode()
    assert list(Operation.objects.all()) == [busy]
    vm.refresh_from_db()
    assert (vm.cores, vm.memory_mb, vm.disk_gb, vm.plan) == (1, 512, 5, portal.small)


def test_reinstall_needs_the_guests_name_and_calls_the_service(portal, vm) -> None:
    answers = {
        "reinstall-source": "9000",
        "reinstall-password": "fresh-secret",
        "reinstall-ipv4": "dhcp",
    }
    wrong = portal.client.post("/guests/1001/reinstall/", {**answers, "reinstall-confirm": "x"})
    assert wrong.status_code == 400
    assert "That is not the guest&#x27;s name." in wrong.content.decode()
    bad_key = portal.client.post(
        "/guests/1001/reinstall/",
        {**answers, "reinstall-confirm": "web-1001", "reinstall-ssh_keys": "not a key"},
    )
    assert bad_key.status_code == 400
    assert "OpenSSH public key" in bad_key.content.decode()
    assert not Operation.objects.exists()

    response = portal.client.post(
        "/guests/1001/reinstall/", {**answers, "reinstall-confirm": "web-1001"}
    )
    assert response.status_code == 302
    operation = Operation.objects.get()
    assert (operation.kind, operation.guest) == ("guest.reinstall", vm)
    names = list(operation.steps.values_list("name", flat=True))
    assert names[:3] == ["guest_power", "guest_destroy", "guest_clone"]
    assert "fresh-secret" not in str(operation.params)  # encrypted at rest


def test_copy_makes_a_new_guest_of_the_tenant_within_its_quota(portal, vm, medium) -> None:
    unknown = portal.client.post("/guests/1001/copy/", {"copy-name": "web-copy", "copy-plan": "x"})
    assert unknown.status_code == 400
    assert "Select a valid choice" in unknown.content.decode()
    bad = portal.client.post("/guests/1001/copy/", {"copy-name": "bad_name", "copy-plan": "small"})
    assert bad.status_code == 400
    assert "DNS label" in bad.content.decode()
    assert not Operation.objects.exists()

    response = portal.client.post(
        "/guests/1001/copy/", {"copy-name": "web-copy", "copy-plan": "small"}
    )
    operation = Operation.objects.get()
    copy = operation.guest
    assert response["Location"] == f"/guests/{copy.vmid}/"
    assert (operation.kind, copy.name, copy.tenant, copy.plan) == (
        "guest.create",
        "web-copy",
        portal.acme,
        portal.small,
    )
    assert operation.params["steps"][1] == {"template_vmid": 1001}  # cloned from the guest


def test_a_copy_over_the_quota_is_refused_with_its_409(portal, vm) -> None:
    portal.add_guests(1, start=3000)  # with 1000 and 1001: the quota's 3 guests
    response = portal.client.post(
        "/guests/1001/copy/", {"copy-name": "web-copy", "copy-plan": "small"}
    )
    assert response.status_code == 409
    assert "guests: 3 in use + 1 requested &gt; 3 allowed" in response.content.decode()
    assert not Operation.objects.exists()
    assert not Guest.objects.filter(name="web-copy").exists()


# Cancelling ---------------------------------------------------------------------------------


def test_an_operation_in_flight_is_cancelled_from_the_pages(portal, vm) -> None:
    operation = pending(portal, vm)
    cancel_url = f"/operations/{operation.pk}/cancel/"
    for url in ("/guests/1001/", "/operations/", f"/operations/{operation.pk}/"):
        assert f'action="{cancel_url}"' in portal.client.get(url).content.decode()

    response = portal.client.post(cancel_url, {"next": "/guests/1001/"})
    assert response["Location"] == "/guests/1001/"
    operation.refresh_from_db()
    assert operation.cancel_requested_by == "alice@pve"

    operation.state = Operation.State.CANCELLED
    operation.finished_at = timezone.now()
    operation.save()
    assert cancel_url not in portal.client.get("/guests/1001/").content.decode()
    again = portal.client.post(cancel_url, {"next": "https://evil.example/"}, follow=True)
    assert again.redirect_chain[0][0] == f"/operations/{operation.pk}/"
    assert "the operation has already cancelled" in again.content.decode()


def test_cancel_is_only_offered_to_who_may_and_foreign_operations_are_missing(portal, vm) -> None:
    operation = pending(portal, vm)  # a resize: cancelling needs VM.Config.Disk
    bob = user_create(userid="bob@pve", password="x", tenant=portal.acme)
    acl_modify(path=vm.acl_path, roles=["PVEVMUser"], users=["bob@pve"])
    client = Client()
    client.force_login(bob)
    page = client.get("/guests/1001/").content.decode()
    assert f'data-operation="{operation.pk}"' in page
    assert "/cancel/" not in page
    client.post(f"/operations/{operation.pk}/cancel/")
    operation.refresh_from_db()
    assert operation.cancel_requested_by == ""

    foreign = pending(portal, portal.foreign)
    foreign.tenant = portal.other
    foreign.actor = "olga@pve"
    foreign.save()
    assert portal.client.post(f"/operations/{foreign.pk}/cancel/").status_code == 404
    foreign.refresh_from_db()
    assert foreign.cancel_requested_by == ""


# Numbers and dates in the active language -------------------------------------------------


def test_numbers_and_dates_follow_the_language(portal, vm) -> None:
    vm.memory_mb = 1536
    vm.save(update_fields=["memory_mb"])
    operation = pending(portal, vm)
    stamp = timezone.localtime(operation.created_at)
    client = portal.client

    page = client.get("/guests/1001/").content.decode()
    assert "1,536 MiB" in page
    assert re.search(rf"{stamp:%m/%d/%Y} \d{{1,2}}:\d{{2}} [ap]\.m\.", page)
    assert "4,096 MiB" in client.get("/").content.decode()  # the quota

    client.post("/i18n/setlang/", {"language": "de", "next": "/"})
    page = client.get("/guests/1001/").content.decode()
    assert "1.536 MiB" in page
    assert f"{stamp:%d.%m.%Y %H:%M}" in page
    assert "4.096 MiB" in client.get("/").content.decode()
    live = client.get("/guests/1001/live/").json()
    assert live["sizes"] == {"cores": "1", "memory": "1.536 MiB", "disk": "5 GiB"}


# On PVE (pvesim) ----------------------------------------------------------------------------


@pytest.fixture
def sim_vm(transactional_db, cluster, cloned_vmid, pvesim_root) -> Iterator[tuple[Client, Guest]]:
    """A stopped VM on pvesim on plan small (its real sizes) in ACME's pool, its admin's
    browser, and a larger plan 'medium'."""
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    limits = Resources(guests=3, vcpus=8, memory_mb=8192, disk_gb=200)
    acme = tenant_create(slug="acme", name="ACME", limits=limits)
    alice = tenant_admin_create(tenant=acme, userid="alice@pve", password="x")
    config = pvesim_root.nodes("pve1").qemu(cloned_vmid).config.get()
    size = parse_property_string(config["scsi0"], default_key="file")["size"]
    disk_gb = -(-int(re.sub(r"\D", "", size)) // (1024 if size.endswith("M") else 1))
    small = Plan.objects.create(
        name="Small", slug="small", cores=1, memory_mb=int(config["memory"]), disk_gb=disk_gb
    )
    Plan.objects.create(name="Medium", slug="medium", cores=2, memory_mb=2048, disk_gb=disk_gb + 10)
    guest = Guest.objects.create(
        vmid=cloned_vmid,
        cluster=cluster,
        node="pve1",
        type="qemu",
        name=f"vm{cloned_vmid}",
        status="stopped",
        tenant=acme,
        plan=small,
        pool=acme.slug,
        cores=1,
        memory_mb=small.memory_mb,
        disk_gb=disk_gb,
    )
    pool_set_guest(vmid=guest.vmid, pool_name=acme.slug)
    client = Client()
    client.force_login(alice)
    yield client, guest
    # No worker runs here (the test drives the operation): drop what the commit enqueued.
    celery_app.control.purge()


def test_a_resize_from_the_page_grows_the_vm_on_pve(sim_vm, pvesim_root) -> None:
    client, guest = sim_vm
    response = client.post(f"/guests/{guest.vmid}/resize/", {"resize-plan": "medium"})
    assert response.status_code == 302
    operation = drive(str(Operation.objects.get(kind="guest.resize").pk))
    assert operation.state == Operation.State.SUCCEEDED
    guest.refresh_from_db()
    assert (guest.cores, guest.memory_mb, guest.plan.slug) == (2, 2048, "medium")
    config = pvesim_root.nodes("pve1").qemu(guest.vmid).config.get()
    assert (int(config["cores"]), int(config["memory"])) == (2, 2048)
    assert f"size={guest.disk_gb}G" in config["scsi0"]
    page = client.get(f"/guests/{guest.vmid}/").content.decode()
    assert f'data-field="disk">{guest.disk_gb} GiB' in page
