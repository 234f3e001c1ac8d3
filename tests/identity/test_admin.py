"""The back-office pages for realms and users."""

import pytest
from django.db import connection

from apps.identity.models import Realm, TotpDevice, User
from apps.identity.services.users import user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    return client


def test_realm_and_user_lists_render(operator_client, alice) -> None:
    assert "pam" in operator_client.get("/admin/identity/realm/").content.decode()
    assert "alice@pve" in operator_client.get("/admin/identity/user/").content.decode()


def test_adding_a_user_takes_the_realm_from_the_user_id(operator_client) -> None:
    response = operator_client.post(
        "/admin/identity/user/add/",
        {
            "username": "erin@pve",
            "usable_password": "true",
            "password1": "Erin-pass-12345",
            "password2": "Erin-pass-12345",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="erin@pve").realm.name == "pve"

    response = operator_client.post(
        "/admin/identity/user/add/",
        {
            "username": "erin@nowhere",
            "usable_password": "false",
        },
    )
    assert "There is no realm named after the" in response.content.decode()
    assert not User.objects.filter(username="erin@nowhere").exists()


def test_realm_form_validates_options_with_pve_names(operator_client) -> None:
    response = operator_client.post(
        "/admin/identity/realm/add/",
        {
            "name": "corp",
            "type": "ldap",
            "enabled": "on",
            "options": '{"server1": "x"}',
            "sync_interval_minutes": "0",
        },
    )
    page = response.content.decode()
    assert "property is missing and it is not optional" in page
    assert not Realm.objects.filter(name="corp").exists()


def test_sync_now_action(operator_client, slapd) -> None:
    response = operator_client.post(
        "/admin/identity/realm/add/",
        {
            "name": "corp",
            "type": "ldap",
            "enabled": "on",
            "sync_interval_minutes": "0",
            "options": (
                f'{{"server1": "127.0.0.1", "port": {slapd.port}, '
                f'"base_dn": "ou=people,{slapd.base_dn}", "user_attr": "uid", '
                f'"bind_dn": "{slapd.service_dn}"}}'
            ),
            "bind_password": slapd.service_password,
        },
    )
    assert response.status_code == 302
    realm = Realm.objects.get(name="corp")
    assert realm.bind_password == slapd.service_password

    response = operator_client.post(
        "/admin/identity/realm/",
        {"action": "sync_now", "_selected_action": [realm.pk]},
        follow=True,
    )
    assert "Corp: 3 users added" in response.content.decode()
    assert User.objects.filter(realm=realm).count() == 3


def test_unlock_totp_action(operator_client, alice) -> None:
    TotpDevice.objects.create(
        user=alice,
        secret="JBSWY3DPEHPK3PXP",
        failed_attempts=8,
        confirmed_at="2026-01-01T00:00:00Z",
        locked_at="2026-01-02T00:00:00Z",
    )
    operator_client.post(
        "/admin/identity/user/", {"action": "unlock_totp", "_selected_action": [alice.pk]}
    )
    device = TotpDevice.objects.get(user=alice)
    assert (device.locked_at, device.failed_attempts) == (None, 0)


def test_builtin_realms_cannot_be_deleted_from_the_back_office(operator_client) -> None:
    pam = Realm.objects.get(name="pam")
    response = operator_client.post(f"/admin/identity/realm/{pam.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Realm.objects.filter(name="pam").exists()


def test_openid_realm_form_checks_the_issuer_and_stores_the_client_key_encrypted(
    operator_client,
) -> None:
    fields = {
        "name": "sso",
        "type": "openid",
        "enabled": "on",
        "sync_interval_minutes": "0",
        "client_key": "s3cret",
    }
    refused = operator_client.post(
        "/admin/identity/realm/add/",
        {**fields, "options": '{"issuer-url": "http://idp.example.org", "client-id": "portal"}'},
    )
    assert "issuer-url: an issuer URL must use https" in refused.content.decode()
    assert not Realm.objects.filter(name="sso").exists()

    accepted = operator_client.post(
        "/admin/identity/realm/add/",
        {**fields, "options": '{"issuer-url": "https://idp.example.org", "client-id": "portal"}'},
    )
    assert accepted.status_code == 302
    realm = Realm.objects.get(name="sso")
    assert realm.client_key == "s3cret"
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_key FROM identity_realm WHERE name = 'sso'")
        assert "s3cret" not in cursor.fetchone()[0]
    # Left empty on a later edit, the stored key stays.
    operator_client.post(
        f"/admin/identity/realm/{realm.pk}/change/",
        {
            **fields,
            "client_key": "",
            "options": '{"issuer-url": "https://idp.example.org", "client-id": "portal2"}',
        },
    )
    realm.refresh_from_db()
    assert (realm.options["client-id"], realm.client_key) == ("portal2", "s3cret")
