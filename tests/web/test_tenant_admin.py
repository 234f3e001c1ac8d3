"""The tenant-admin pages and sharing a guest: only the tenant's admins get them (its other users
403, users of no tenant 404), another tenant's users, groups, guests and ACL entries are as
missing (404) as ones that do not exist, and bad input changes nothing."""

import re

import pytest
from django.core import mail
from django.test import Client

from apps.access.engine import has_privileges
from apps.access.models import AclEntry, Group
from apps.access.services import acl_modify, token_create
from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_record
from apps.identity.models import User
from apps.identity.services.users import user_create
from apps.tenantadmin.models import TenantGroup

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/tenant/users/", "/tenant/groups/", "/tenant/permissions/", "/tenant/audit/"]
ADMIN_POSTS = [
    "/tenant/users/invite/",
    "/tenant/users/bob@pve/disable/",
    "/tenant/users/bob@pve/enable/",
    "/tenant/users/bob@pve/remove/",
    "/tenant/groups/new/",
    "/tenant/groups/acme/members/",
    "/tenant/groups/acme/remove/",
    "/tenant/permissions/grant/",
    "/tenant/permissions/1/revoke/",
    "/guests/1000/sharing/grant/",
    "/guests/1000/sharing/1/revoke/",
]


@pytest.fixture
def bob(portal) -> User:
    """A sub-user of ACME, in its group, with no grants yet."""
    user = user_create(userid="bob@pve", password="x", tenant=portal.acme)
    Group.objects.get(name="acme").members.add(user)
    return user


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def acl() -> set[tuple[str, str, str]]:
    return {(entry.path, entry.subject, entry.role) for entry in AclEntry.objects.all()}


def test_a_tenants_other_users_get_403_and_no_navigation(portal, bob) -> None:
    portal.add_guests(1)
    client = client_of(bob)
    acl_modify(path="/vms/1000", roles=["PVEVMAdmin"], users=["bob@pve"])
    before = acl()
    for url in [*ADMIN_PAGES, "/guests/1000/sharing/"]:
        assert client.get(url).status_code == 403, url
    for url in ADMIN_POSTS:
        response = client.post(url, {"userid": "x@pve", "email": "x@example.com", "name": "x"})
        assert response.status_code == 403, url
    assert acl() == before
    assert User.objects.filter(is_active=True).count() == 3
    assert 'href="/tenant/users/"' not in client.get("/").content.decode()
    assert 'id="sharing"' not in client.get("/guests/1000/").content.decode()


def test_users_of_no_tenant_get_404(portal, operator) -> None:
    client = client_of(operator)
    for url in ADMIN_PAGES:
        assert client.get(url).status_code == 404, url


def test_the_admin_sees_the_organisation_pages_of_their_tenant_only(portal, bob) -> None:
    assert 'href="/tenant/users/"' in portal.client.get("/").content.decode()
    page = portal.client.get("/tenant/users/").content.decode()
    assert re.findall(r'<tr data-user="([^"]+)"', page) == ["alice@pve", "bob@pve"]
    groups = portal.client.get("/tenant/groups/").content.decode()
    assert re.findall(r'data-group="([^"]+)"', groups) == ["acme"]
    assert "olga@pve" not in page + groups


def test_inviting_creates_a_user_of_the_tenant_and_mails_a_link(
    portal, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = portal.client.post(
            "/tenant/users/invite/", {"userid": "carol@pve", "email": "carol@example.com"}
        )
    assert response.status_code == 302
    carol = User.objects.get(username="carol@pve")
    assert carol.tenant == portal.acme
    assert not carol.has_usable_password()
    assert carol in Group.objects.get(name="acme").members.all()
    assert mail.outbox[0].to == ["carol@example.com"]
    assert "/accounts/password/reset/key/" in mail.outbox[0].body
    assert AuditEvent.objects.filter(action="identity.user_invited", actor="alice@pve").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"userid": "carol", "email": "carol@example.com"}, "not look like a valid user"),
        ({"userid": "carol@pam", "email": "carol@example.com"}, "invitations are for"),
        ({"userid": "carol@pve", "email": "not-an-address"}, "Enter a valid email address."),
        ({"userid": "olga@pve", "email": "olga@example.com"}, "already exists"),
    ],
)
def test_bad_invitations_change_nothing(portal, data, message) -> None:
    users = User.objects.count()
    response = portal.client.post("/tenant/users/invite/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert User.objects.count() == users
    assert not mail.outbox


def test_disable_enable_and_remove_a_user(portal, bob) -> None:
    bobs = client_of(bob)
    assert bobs.get("/").status_code == 200
    portal.client.post("/tenant/users/bob@pve/disable/")
    bob.refresh_from_db()
    assert not bob.is_active
    assert bobs.get("/").status_code == 302  # signed out
    portal.client.post("/tenant/users/bob@pve/enable/")
    bob.refresh_from_db()
    assert bob.is_active
    portal.client.post("/tenant/users/bob@pve/remove/")
    assert not User.objects.filter(username="bob@pve").exists()


def test_another_tenants_user_is_missing_and_the_admin_cannot_lock_themself_out(portal) -> None:
    for action in ("disable", "enable", "remove"):
        assert portal.client.post(f"/tenant/users/olga@pve/{action}/").status_code == 404
        response = portal.client.post(f"/tenant/users/alice@pve/{action}/", follow=True)
        assert "you cannot do this to your own account" in response.content.decode()
    assert User.objects.filter(username__in=["olga@pve", "alice@pve"], is_active=True).count() == 2


def test_groups_are_created_with_the_tenants_prefix_and_members_are_set(portal, bob) -> None:
    response = portal.client.post(
        "/tenant/groups/new/", {"name": "devs", "comment": "Developers", "members": ["bob@pve"]}
    )
    assert response.status_code == 302
    group = Group.objects.get(name="acme-devs")
    assert list(group.members.values_list("username", flat=True)) == ["bob@pve"]
    assert TenantGroup.objects.get(group=group).tenant == portal.acme
    portal.client.post(
        "/tenant/groups/acme-devs/members/", {"acme-devs-members": ["alice@pve", "bob@pve"]}
    )
    assert group.members.count() == 2
    portal.client.post("/tenant/groups/acme-devs/remove/")
    assert not Group.objects.filter(name="acme-devs").exists()


def test_foreign_groups_and_members_are_missing_and_bad_input_changes_nothing(portal) -> None:
    groups = set(Group.objects.values_list("name", flat=True))
    olga_group = Group.objects.get(name="other")
    assert portal.client.post("/tenant/groups/other/members/", {}).status_code == 404
    assert portal.client.post("/tenant/groups/other/remove/").status_code == 404
    response = portal.client.post("/tenant/groups/new/", {"name": "x", "members": ["olga@pve"]})
    assert response.status_code == 404
    for name in ("", "bad name", "a" * 40):
        assert portal.client.post("/tenant/groups/new/", {"name": name}).status_code == 400
    # The tenant's own group is the portal's: its members are its users.
    response = portal.client.post("/tenant/groups/acme/members/", {}, follow=True)
    assert "is managed by the portal" in response.content.decode()
    assert set(Group.objects.values_list("name", flat=True)) == groups
    assert olga_group.members.count() == 1
    assert Group.objects.get(name="acme").members.count() == 1


def test_the_acl_editor_lists_the_tenants_paths_and_roles_with_descriptions(portal, bob) -> None:
    portal.add_guests(2)
    acl_modify(path="/vms/1001", roles=["PVEVMUser"], users=["bob@pve"])
    acl_modify(path="/vms/200", roles=["PVEVMUser"], users=["olga@pve"])
    page = portal.client.get("/tenant/permissions/").content.decode()
    rows = re.findall(r"<td><code>([^<]+)</code></td>\s*<td>([^<]+)</td>\s*<td>([^<]+)</td>", page)
    assert rows == [
        ("/pool/acme", "alice@pve", "PVEVMAdmin"),
        ("/vms/1001", "bob@pve", "PVEVMUser"),
    ]
    paths = re.findall(r'<option value="(/[^"]+)"', page)
    assert paths == ["/vms/1000", "/vms/1001"]  # PVEVMAdmin allows granting on guests only
    assert "View, backup, configure CD-ROM, VM console, VM power management." in page
    assert "VM.PowerMgmt" in page
    assert "/vms/200" not in page
    assert "olga@pve" not in page


def test_granting_and_revoking_on_a_guest(portal, bob) -> None:
    portal.add_guests(2)
    response = portal.client.post(
        "/tenant/permissions/grant/",
        {"path": "/vms/1001", "subject": "user:bob@pve", "role": "PVEVMUser", "propagate": "on"},
    )
    assert response.status_code == 302
    assert has_privileges(bob, "/vms/1001", "VM.PowerMgmt")
    entry = AclEntry.objects.get(user=bob)
    portal.client.post(f"/tenant/permissions/{entry.pk}/revoke/")
    assert not AclEntry.objects.filter(user=bob).exists()
    assert not has_privileges(bob, "/vms/1001", "VM.Audit")


def test_a_token_of_a_tenant_user_can_be_granted(portal, bob) -> None:
    portal.add_guests(1)
    token, _secret = token_create(user=bob, name="ci")
    portal.client.post(
        "/tenant/permissions/grant/",
        {"path": "/vms/1000", "subject": "token:bob@pve!ci", "role": "PVEVMUser"},
    )
    assert AclEntry.objects.get(token=token).role == "PVEVMUser"


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"path": "/vms/200", "subject": "user:bob@pve", "role": "PVEVMUser"}, 404),
        ({"path": "/vms/1000", "subject": "user:olga@pve", "role": "PVEVMUser"}, 404),
        ({"path": "/vms/1000", "subject": "group:other", "role": "PVEVMUser"}, 404),
        ({"path": "/vms/1000", "subject": "token:olga@pve!ci", "role": "PVEVMUser"}, 404),
        ({"path": "/vms/1000", "subject": "user:bob@pve", "role": "Administrator"}, 400),
        ({"path": "/vms/1000", "subject": "user:bob@pve", "role": "NoSuchRole"}, 400),
        ({"path": "/pool/acme", "subject": "user:bob@pve", "role": "PVEVMUser"}, 400),
        ({"path": "/access", "subject": "user:bob@pve", "role": "PVEVMUser"}, 404),
        ({"path": "/vms/1000", "subject": "bob@pve", "role": "PVEVMUser"}, 400),
    ],
)
def test_foreign_or_bad_grants_change_nothing(portal, bob, data, status) -> None:
    portal.add_guests(1)
    token_create(user=User.objects.get(username="olga@pve"), name="ci")
    before = acl()
    assert portal.client.post("/tenant/permissions/grant/", data).status_code == status
    assert acl() == before


def test_foreign_acl_entries_cannot_be_revoked(portal) -> None:
    acl_modify(path="/vms/200", roles=["PVEVMUser"], users=["olga@pve"])
    foreign = AclEntry.objects.get(path="/vms/200")
    before = acl()
    assert portal.client.post(f"/tenant/permissions/{foreign.pk}/revoke/").status_code == 404
    assert portal.client.post(f"/tenant/permissions/{foreign.pk + 100}/revoke/").status_code == 404
    assert acl() == before


def test_the_audit_log_shows_the_tenants_events_only_paginated(portal, bob) -> None:
    portal.add_guests(1)
    for _n in range(60):
        audit_record(action="guest.started", actor=Actor.user(bob), target="/vms/1000")
    audit_record(action="guest.started", actor=Actor.system(), target="/vms/200")
    audit_record(
        action="secret.thing", actor=Actor.user(User.objects.get(username="olga@pve")), target="x"
    )
    first = portal.client.get("/tenant/audit/").content.decode()
    assert len(re.findall(r"<tr data-event=", first)) == 50
    assert "Page 1 of 2" in first
    second = portal.client.get("/tenant/audit/?page=2").content.decode()
    shown = first + second
    assert "/vms/200" not in shown
    assert "secret.thing" not in shown
    assert "access.group_created" in shown  # the tenant's own setup, about /access/groups/acme


# Sharing from the guest page -------------------------------------------------------------------


def test_the_guest_page_loads_the_sharing_panel_for_the_admin(portal, bob) -> None:
    portal.add_guests(1)
    page = portal.client.get("/guests/1000/").content.decode()
    assert 'hx-get="/guests/1000/sharing/"' in page
    panel = portal.client.get("/guests/1000/sharing/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in panel
    assert 'value="user:bob@pve"' in panel
    assert 'value="user:alice@pve"' not in panel
    assert '<option value="PVEVMUser" selected>' in panel
    assert "Administrator" not in re.findall(r'<select name="role".*?</select>', panel, re.S)[0]
    assert "<html" in portal.client.get("/guests/1000/sharing/").content.decode()


def test_sharing_and_unsharing_a_guest(portal, bob) -> None:
    portal.add_guests(2)
    response = portal.client.post(
        "/guests/1001/sharing/grant/", {"subject": "user:bob@pve", "role": "PVEVMUser"}
    )
    assert response["Location"] == "/guests/1001/#sharing"
    bobs = client_of(bob)
    assert re.findall(r'<tr data-guest="(\d+)"', bobs.get("/guests/").content.decode()) == ["1001"]
    panel = portal.client.get("/guests/1001/sharing/", HTTP_HX_REQUEST="true").content.decode()
    assert 'data-share="bob@pve"' in panel
    entry = AclEntry.objects.get(user=bob)
    portal.client.post(f"/guests/1001/sharing/{entry.pk}/revoke/")
    assert bobs.get("/guests/1001/").status_code == 404


def test_sharing_a_foreign_guest_or_with_a_foreign_user_is_missing(portal, bob) -> None:
    portal.add_guests(1)
    acl_modify(path="/vms/1000", roles=["PVEVMUser"], users=["bob@pve"])
    acl_modify(path="/vms/200", roles=["PVEVMUser"], users=["olga@pve"])
    foreign_entry = AclEntry.objects.get(path="/vms/200")
    own_entry = AclEntry.objects.get(path="/vms/1000")
    before = acl()
    client = portal.client
    assert client.get("/guests/200/sharing/").status_code == 404
    grant = {"subject": "user:bob@pve", "role": "PVEVMUser"}
    assert client.post("/guests/200/sharing/grant/", grant).status_code == 404
    assert client.post(f"/guests/200/sharing/{foreign_entry.pk}/revoke/").status_code == 404
    # Another guest's entry through this guest's URL.
    portal.add_guests(1, start=3000)
    assert client.post(f"/guests/3000/sharing/{own_entry.pk}/revoke/").status_code == 404
    grant = {"subject": "user:olga@pve", "role": "PVEVMUser"}
    assert client.post("/guests/1000/sharing/grant/", grant).status_code == 404
    bad = {"subject": "user:bob@pve", "role": "Administrator"}
    response = client.post("/guests/1000/sharing/grant/", bad, follow=True)
    assert "Permission check failed" in response.content.decode()
    assert acl() == before
