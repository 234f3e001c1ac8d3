"""The customer portal's pages through Django's test client: scoping (a foreign guest is as
missing as a nonexistent one), bad input changes nothing, reads are pinned in query count."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.audit.services import Actor
from apps.clusters.models import Cluster
from apps.guests.models import Guest
from apps.guests.services import tenant_suspend
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.tenancy.models import Plan
from pvecore.tags import tag_color

pytestmark = pytest.mark.django_db


def operations_of(**filters) -> list[str]:
    return list(Operation.objects.filter(**filters).values_list("kind", flat=True))


def test_pages_need_a_login() -> None:
    client = Client()
    for url in ("/", "/guests/", "/guests/new/", "/guests/100/", "/operations/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"]


def test_dashboard_shows_quota_guests_by_state_and_recent_operations(portal) -> None:
    guests = portal.add_guests(3)  # two running, one stopped
    operation_create(
        kind="guest.start",
        cluster=portal.cluster,
        guest=guests[0],
        tenant=portal.acme,
        target=guests[0].acl_path,
        actor=Actor.user(portal.alice),
        steps=[("guest_power", {"action": "start"})],
    )
    page = portal.client.get("/").content.decode()
    assert "Signed in as alice@pve." in page
    # Quota: 3 guests of 3, 3 vCPUs of 4.
    assert re.search(r"Guests</span>\s*<span>\s*3\s*/ 3", page)
    assert re.search(r"vCPUs</span>\s*<span>\s*3\s*/ 4", page)
    states = re.findall(r'badge text-bg-\w+">(\w+)</span></a>\s*<span>(\d+)', page)
    assert states == [("running", "2"), ("stopped", "1")]
    assert f'data-operation="{Operation.objects.get().pk}"' in page
    assert "secret" not in page  # the other tenant's guest


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/guests/{vmid}/"),
        ("get", "/guests/{vmid}/live/"),
        ("post", "/guests/{vmid}/power/start/"),
        ("post", "/guests/{vmid}/settings/"),
        ("post", "/guests/{vmid}/delete/"),
    ],
)
def test_a_foreign_guest_is_as_missing_as_a_nonexistent_one(portal, method, url) -> None:
    for vmid in (portal.foreign.vmid, 99999):
        response = getattr(portal.client, method)(
            url.format(vmid=vmid), {"name": "x", "confirm": "secret"}
        )
        assert response.status_code == 404, (url, vmid)
    assert not Operation.objects.exists()


def test_foreign_operations_are_missing_too(portal) -> None:
    foreign = operation_create(
        kind="guest.stop",
        cluster=portal.cluster,
        guest=portal.foreign,
        tenant=portal.other,
        target=portal.foreign.acl_path,
        actor=Actor.system(),
        steps=[("guest_power", {"action": "stop"})],
    )
    assert portal.client.get(f"/operations/{foreign.pk}/").status_code == 404
    assert str(foreign.pk) not in portal.client.get("/operations/").content.decode()
    live = portal.client.get(f"/operations/live/?id={foreign.pk}&id=not-a-uuid").json()
    assert live == {"operations": []}


def test_the_live_panel_fragment_is_the_scoped_table_alone(portal) -> None:
    (guest,) = portal.add_guests(1)
    portal.client.post(f"/guests/{guest.vmid}/power/start/")
    own = Operation.objects.get()
    operation_create(
        kind="guest.stop",
        cluster=portal.cluster,
        guest=portal.foreign,
        tenant=portal.other,
        target=portal.foreign.acl_path,
        actor=Actor.system(),
        steps=[("guest_power", {"action": "stop"})],
    )
    fragment = portal.client.get("/operations/?fragment=1").content.decode()
    assert "<html" not in fragment
    assert re.findall(r'data-operation="([^"]+)"', fragment) == [str(own.pk)]
    assert (
        'data-live-panel="?show=&amp;fragment=1"'
        in portal.client.get("/operations/").content.decode()
    )


def test_guest_list_searches_and_filters_by_state_and_tag(portal) -> None:
    portal.add_guests(6)
    Guest.objects.filter(vmid=1001).update(name="mail", tags="prod;mail")

    def vmids(query: str) -> list[int]:
        page = portal.client.get(f"/guests/{query}").content.decode()
        return [int(v) for v in re.findall(r'<tr data-guest="(\d+)"', page)]

    assert vmids("") == [1000, 1001, 1002, 1003, 1004, 1005]
    assert vmids("?q=mail") == [1001]
    assert vmids("?q=1004") == [1004]
    assert vmids("?state=stopped") == [1000, 1003]
    assert vmids("?tag=web") == [1003, 1005]
    assert vmids("?tag=we") == []  # whole tags only
    assert vmids("?tag=prod&state=running") == [1001, 1005]
    assert vmids("?q=secret") == []  # the other tenant's


def test_guest_tags_are_coloured_as_pve_does(portal) -> None:
    portal.add_guests(2)
    page = portal.client.get("/guests/1001/").content.decode()
    background, color = tag_color("prod")
    assert f'style="background-color: {background}; color: {color}">prod</span>' in page


def test_notes_are_markdown_rendered_safely(portal) -> None:
    (guest,) = portal.add_guests(1)
    Guest.objects.filter(pk=guest.pk).update(
        notes="**Backups** nightly. <script>alert(1)</script> [x](javascript:alert(1)) "
        '<img src=x onerror="alert(1)"> [docs](https://example.com)'
    )
    page = portal.client.get(f"/guests/{guest.vmid}/").content.decode()
    notes = page[page.index('data-testid="notes"') :]
    notes = notes[: notes.index("</div>")]
    assert "<strong>Backups</strong>" in notes
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">docs</a>' in notes
    assert "<script" not in notes
    assert "<img" not in notes
    assert 'href="javascript' not in notes


def test_bulk_power_makes_an_operation_per_guest_and_lists_refusals(portal) -> None:
    portal.add_guests(3)
    response = portal.client.post(
        "/guests/bulk/",
        {"action": "stop", "vmids": ["1001", "1002", str(portal.foreign.vmid)], "next": "/guests/"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/guests/"
    assert sorted(operations_of(kind="guest.stop").__iter__()) == ["guest.stop", "guest.stop"]
    assert set(Operation.objects.values_list("guest__vmid", flat=True)) == {1001, 1002}
    page = response.content.decode()
    assert "Stop requested for 2 guest(s)." in page
    assert f"{portal.foreign.vmid}: no such guest" in page


@pytest.mark.parametrize(
    "data",
    [
        {"action": "stop"},  # no guest
        {"action": "destroy", "vmids": ["1000"]},  # not a bulk action
        {"action": "stop", "vmids": ["abc"]},
        {"vmids": ["1000"]},
    ],
)
def test_bad_bulk_input_changes_nothing(portal, data) -> None:
    portal.add_guests(1)
    response = portal.client.post("/guests/bulk/", {**data, "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == "/guests/"  # never off-site
    assert not Operation.objects.exists()


def test_power_settings_and_delete_call_the_guest_services(portal) -> None:
    (guest,) = portal.add_guests(2)[1:]  # 1001: running
    client = portal.client
    assert client.post(f"/guests/{guest.vmid}/power/shutdown/").status_code == 302
    assert operations_of() == ["guest.shutdown"]
    Operation.objects.update(state="succeeded")

    response = client.post(
        f"/guests/{guest.vmid}/settings/",
        {"name": "www", "tags": "prod, web;new", "notes": "*hi*"},
    )
    assert response.status_code == 302
    update = Operation.objects.get(kind="guest.update")
    assert update.params["steps"] == [{"name": "www", "tags": "prod;web;new", "notes": "*hi*"}]
    update.state = "succeeded"
    update.save()

    assert client.post(f"/guests/{guest.vmid}/delete/", {"confirm": guest.name}).status_code == 302
    assert Operation.objects.filter(kind="guest.delete", guest=guest).exists()


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("power/explode/", {}, "has no &#x27;explode&#x27; action"),
        ("settings/", {"name": "bad name!", "tags": "", "notes": ""}, "DNS label"),
        ("settings/", {"name": "ok", "tags": "bad|tag", "notes": ""}, "not a PVE tag"),
        ("settings/", {"name": "", "tags": "", "notes": ""}, "This field is required."),
        ("settings/", {"name": "ok", "tags": "", "notes": "x" * 9000}, "at most 8192"),
        ("delete/", {"confirm": "web-100"}, "not the guest&#x27;s name"),
        ("delete/", {}, "This field is required."),
    ],
)
def test_bad_input_on_a_guest_changes_nothing(portal, url, data, message) -> None:
    (guest,) = portal.add_guests(2)[1:]
    response = portal.client.post(f"/guests/{guest.vmid}/{url}", data, follow=True)
    assert message in response.content.decode()
    assert not Operation.objects.exists()
    assert Guest.objects.get(pk=guest.pk).name == guest.name


def test_the_live_endpoint_reports_status_and_operations(portal) -> None:
    (guest,) = portal.add_guests(1)
    portal.client.post(f"/guests/{guest.vmid}/power/start/")
    live = portal.client.get(f"/guests/{guest.vmid}/live/").json()
    assert (live["status"], live["status_label"], live["status_class"]) == (
        "stopped",
        "stopped",
        "text-bg-secondary",
    )
    (event,) = live["operations"]
    assert (event["kind"], event["state"], event["state_label"]) == (
        "guest.start",
        "pending",
        "Pending",
    )
    polled = portal.client.get(f"/operations/live/?id={event['id']}").json()
    assert [op["id"] for op in polled["operations"]] == [event["id"]]


# The create wizard -------------------------------------------------------------------------


def wizard(portal, **data):
    return portal.client.post("/guests/new/", data)


ANSWERS = {
    "plan": "small",
    "source": "template:debian12-cloud",
    "name": "web1",
    "password": "secret-1",
    "ipv4": "dhcp",
}


def test_the_wizard_walks_plan_source_access_review_then_creates(portal) -> None:
    page = portal.client.get("/guests/new/").content.decode()
    assert 'value="small"' in page
    page = wizard(portal, step="plan", plan="small").content.decode()
    assert 'value="template:debian12-cloud"' in page
    # One region has the template: its step is skipped, and named in the summary.
    page = wizard(portal, step="source", plan="small", source="template:debian12-cloud")
    page = page.content.decode()
    assert 'name="step" value="access"' in page
    assert 'name="ssh_keys"' in page
    assert "Region: <strong>c1</strong>" in page
    assert 'name="back" value="source"' in page
    review = wizard(portal, step="access", **ANSWERS)
    page = review.content.decode()
    assert "Quota after this guest" in page
    assert re.search(r"0 \+ 1 = <strong>1</strong>\s*/ 3", page)
    # Back keeps the answers.
    back = wizard(portal, step="review", back="access", **ANSWERS).content.decode()
    assert 'value="web1"' in back
    assert not Operation.objects.exists()

    response = wizard(portal, step="review", **ANSWERS)
    operation = Operation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/guests/{operation.guest.vmid}/"
    assert (operation.kind, operation.guest.name, operation.tenant) == (
        "guest.create",
        "web1",
        portal.acme,
    )
    assert "secret-1" not in str(operation.params)  # encrypted at rest


def test_the_wizard_asks_for_the_region_where_the_plan_and_template_are(portal) -> None:
    c2 = Cluster.objects.create(
        name="c2", api_addresses=["h2"], token_id="a@pve!t", token_secret="s", fingerprint="AB"
    )
    c3 = Cluster.objects.create(
        name="c3", api_addresses=["h3"], token_id="a@pve!t", token_secret="s", fingerprint="AC"
    )
    Guest.objects.create(
        vmid=9001, cluster=c2, node="pve1", type="qemu", template=True, name="debian12-cloud"
    )
    Guest.objects.create(
        vmid=9002, cluster=c3, node="pve1", type="qemu", template=True, name="debian12-cloud"
    )
    portal.small.clusters.set([portal.cluster, c2])  # not offered on c3
    page = wizard(portal, step="plan", plan="small").content.decode()
    assert page.count('value="template:debian12-cloud"') == 1  # one choice, two regions

    page = wizard(portal, step="source", plan="small", source="template:debian12-cloud")
    page = page.content.decode()
    assert 'name="step" value="region"' in page
    assert 'aria-current="step">3. Region' in page
    assert 'value="c1"' in page
    assert 'value="c2"' in page
    assert 'value="c3"' not in page
    refused = wizard(portal, **{**ANSWERS, "step": "review", "cluster": "c3"})
    assert refused.status_code == 400
    assert 'name="step" value="region"' in refused.content.decode()

    page = wizard(portal, step="region", **{**ANSWERS, "cluster": "c2"}).content.decode()
    assert 'name="step" value="access"' in page
    assert 'name="back" value="region"' in page
    assert '<input type="hidden" name="cluster" value="c2">' in page
    response = wizard(portal, step="review", **{**ANSWERS, "cluster": "c2"})
    assert response.status_code == 302
    operation = Operation.objects.get()
    assert operation.cluster == c2
    assert operation.guest.cluster == c2
    assert operation.steps.get(name="guest_clone") is not None
    assert operation.params["steps"][1] == {"template_vmid": 9001}


@pytest.mark.parametrize(
    ("data", "step", "message"),
    [
        ({"step": "plan", "plan": "nope"}, "plan", "Select a valid choice"),
        ({**ANSWERS, "step": "review", "plan": ""}, "plan", "This field is required"),
        ({**ANSWERS, "step": "review", "source": "template:1"}, "source", "Select a valid choice"),
        ({**ANSWERS, "step": "review", "name": "no_underscores"}, "access", "DNS label"),
        ({**ANSWERS, "step": "review", "ipv4": "10.0.0.1"}, "access", "with its prefix"),
        ({**ANSWERS, "step": "review", "ssh_keys": "not a key"}, "access", "OpenSSH public key"),
        ({**ANSWERS, "step": "review", "password": "abc"}, "access", "at least 5 characters"),
    ],
)
def test_bad_wizard_input_changes_nothing(portal, data, step, message) -> None:
    response = wizard(portal, **data)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'name="step" value="{step}"' in page
    assert message in page
    assert not Operation.objects.exists()
    assert not Guest.objects.filter(name="web1").exists()


def test_an_over_quota_create_shows_the_409_reason_in_the_wizard(portal) -> None:
    Plan.objects.create(name="Big", slug="big", cores=8, memory_mb=1024, disk_gb=10)
    review = wizard(portal, step="access", **{**ANSWERS, "plan": "big"}).content.decode()
    assert "over quota" in review
    response = wizard(portal, step="review", **{**ANSWERS, "plan": "big"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "The guest was not created." in page
    assert "vcpus: 0 in use + 8 requested &gt; 4 allowed" in page
    assert not Operation.objects.exists()
    assert not Guest.objects.filter(name="web1").exists()


def test_an_operator_chooses_the_tenant_in_the_wizard(portal, operator) -> None:
    client = Client()
    client.force_login(operator)
    page = client.get("/guests/new/").content.decode()
    assert 'name="tenant"' in page
    response = client.post("/guests/new/", {**ANSWERS, "step": "review", "tenant": "other"})
    assert response.status_code == 302
    assert Operation.objects.get().tenant == portal.other


# A suspended tenant ------------------------------------------------------------------------


def test_a_suspended_tenants_pages_are_read_only(portal, operator) -> None:
    (guest,) = portal.add_guests(2)[1:]
    tenant_suspend(tenant=portal.acme, actor=operator)
    before = Operation.objects.count()  # the stop of its running guest
    client = portal.client

    page = client.get(f"/guests/{guest.vmid}/").content.decode()
    assert "read-only" in page
    for control in ('data-testid="power-buttons"', "Save settings", "Delete this guest"):
        assert control not in page
    listing = client.get("/guests/").content.decode()
    assert "Stop selected" not in listing
    assert "New guest" not in listing
    assert "New guest" not in client.get("/").content.decode()

    client.post(f"/guests/{guest.vmid}/power/start/")
    client.post(f"/guests/{guest.vmid}/settings/", {"name": "x1", "tags": "", "notes": ""})
    client.post(f"/guests/{guest.vmid}/delete/", {"confirm": guest.name})
    client.post("/guests/bulk/", {"action": "start", "vmids": [str(guest.vmid)]})
    response = client.post("/guests/new/", {**ANSWERS, "step": "review"}, follow=True)
    assert "read-only" in response.content.decode()
    assert Operation.objects.count() == before


# Query counts ------------------------------------------------------------------------------


def queries(client: Client, url: str) -> int:
    client.get(url)  # warm: the compiled access model
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def with_operations(portal, guests) -> None:
    for guest in guests:
        operation_create(
            kind="guest.start",
            cluster=portal.cluster,
            guest=guest,
            tenant=portal.acme,
            target=guest.acl_path,
            actor=Actor.user(portal.alice),
            steps=[("guest_power", {"action": "start"})],
        )


@pytest.mark.parametrize(
    ("url", "pinned"),
    [("/", 16), ("/guests/", 11), ("/guests/1000/", 12), ("/operations/", 10)],
)
def test_page_queries_are_pinned_and_do_not_grow_with_guests(portal, url, pinned) -> None:
    with_operations(portal, portal.add_guests(10))
    at_10 = queries(portal.client, url)
    with_operations(portal, portal.add_guests(90, start=2000))
    at_100 = queries(portal.client, url)
    assert (at_10, at_100) == (pinned, pinned)


# Languages ---------------------------------------------------------------------------------


def test_the_language_selector_switches_the_portal_to_german(portal) -> None:
    portal.add_guests(2)
    client = portal.client
    response = client.post("/i18n/setlang/", {"language": "de", "next": "/guests/1001/"})
    assert response["Location"] == "/guests/1001/"
    page = client.get("/guests/1001/").content.decode()
    assert '<html lang="de">' in page
    assert "Aufgabenverlauf" in page  # Task history
    assert ">läuft</span>" in page  # the guest's status
    assert "Einstellungen speichern" in page
    assert "Übersicht" in client.get("/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert "Task history" in client.get("/guests/1001/").content.decode()


def test_the_compiled_german_catalogue_matches_its_po_file() -> None:
    """The .mo is committed (running needs no gettext): it must say what the .po says."""
    from django.conf import settings
    from django.utils import translation

    po = (settings.BASE_DIR / "locale/de/LC_MESSAGES/django.po").read_text()
    pairs = re.findall(r'^msgid "(.+)"\nmsgstr "(.+)"$', po, re.MULTILINE)
    assert len(pairs) > 150
    with translation.override("de"):
        stale = [
            msgid
            for msgid, msgstr in pairs
            if translation.gettext(msgid.replace('\\"', '"')) != msgstr.replace('\\"', '"')
        ]
    assert stale == []


def test_a_sub_user_sees_only_what_an_acl_shares_and_gets_no_controls(portal) -> None:
    from apps.access.services import acl_modify
    from apps.identity.services.users import user_create

    portal.add_guests(3)
    bob = user_create(userid="bob@pve", password="x", tenant=portal.acme)
    acl_modify(path="/vms/1001", roles=["PVEAuditor"], users=["bob@pve"])
    client = Client()
    client.force_login(bob)

    listing = client.get("/guests/").content.decode()
    assert re.findall(r'<tr data-guest="(\d+)"', listing) == ["1001"]
    assert "New guest" not in listing
    page = client.get("/guests/1001/").content.decode()
    for control in ('data-testid="power-buttons"', "Save settings", "Delete this guest", "Console"):
        assert control not in page
    assert client.get("/guests/1000/").status_code == 404
    response = client.post("/guests/1001/power/stop/", follow=True)
    assert "Permission check failed (/vms/1001, VM.PowerMgmt)" in response.content.decode()
    assert client.get("/guests/new/").status_code == 302
    assert not Operation.objects.exists()
