"""`pveum realm modify|delete` and the services behind them."""

import pytest
from django.core.management import CommandError, call_command

from apps.audit.models import AuditEvent
from apps.identity.models import Realm
from apps.identity.services.users import realm_create, user_create

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def corp():
    return realm_create(
        name="corp",
        type="ldap",
        options={
            "server1": "ldap1.example.org",
            "server2": "ldap2.example.org",
            "base_dn": "dc=example,dc=org",
            "user_attr": "uid",
        },
    )


def test_modify_replaces_given_options_deletes_listed_ones_and_keeps_the_rest(corp) -> None:
    call_command(
        "pveum",
        "realm",
        "modify",
        "corp",
        "--server1",
        "ldap9.example.org",
        "--delete",
        "server2",
        "--mode",
        "ldaps",
        "--comment",
        "Moved",
        "--tfa",
        "type=oath",
        "--password",
        "new-bind-secret",
    )
    corp.refresh_from_db()
    assert corp.options == {
        "server1": "ldap9.example.org",
        "mode": "ldaps",
        "base_dn": "dc=example,dc=org",
        "user_attr": "uid",
    }
    assert (corp.comment, corp.tfa_required, corp.bind_password) == (
        "Moved",
        True,
        "new-bind-secret",
    )
    assert AuditEvent.objects.filter(action="identity.realm_modified").exists()


def test_modify_refuses_bad_options_and_changes_nothing(corp) -> None:
    with pytest.raises(CommandError, match="mode"):
        call_command("pveum", "realm", "modify", "corp", "--mode", "carrier-pigeon")
    with pytest.raises(CommandError, match="base_dn"):
        call_command("pveum", "realm", "modify", "corp", "--delete", "base_dn")
    corp.refresh_from_db()
    assert corp.options["server2"] == "ldap2.example.org"
    assert "mode" not in corp.options


def test_default_realm_moves(corp) -> None:
    call_command("pveum", "realm", "modify", "corp", "--default", "1")
    assert list(Realm.objects.filter(default=True).values_list("name", flat=True)) == ["corp"]


def test_delete_refuses_builtin_realms_and_realms_with_users(corp) -> None:
    with pytest.raises(CommandError, match="built-in realm 'pve'"):
        call_command("pveum", "realm", "delete", "pve")
    user_create(userid="alice@corp")
    with pytest.raises(CommandError, match="still has 1 users"):
        call_command("pveum", "realm", "delete", "corp")
    assert Realm.objects.filter(name="corp").exists()


def test_delete_removes_an_empty_realm(corp) -> None:
    call_command("pveum", "realm", "delete", "corp")
    assert not Realm.objects.filter(name="corp").exists()
    assert AuditEvent.objects.filter(
        action="identity.realm_deleted", target="/access/realm/corp"
    ).exists()


def test_openid_realm_from_pveum_keeps_the_client_key_encrypted_out_of_the_options() -> None:
    call_command(
        "pveum",
        "realm",
        "add",
        "sso",
        "--type",
        "openid",
        "--issuer-url",
        "https://login.example.org/realms/corp",
        "--client-id",
        "portal",
        "--client-key",
        "s3cret",
        "--username-claim",
        "email",
    )
    realm = Realm.objects.get(name="sso")
    assert realm.client_key == "s3cret"
    assert realm.options == {
        "issuer-url": "https://login.example.org/realms/corp",
        "client-id": "portal",
        "username-claim": "email",
    }
    call_command("pveum", "realm", "modify", "sso", "--delete", "client-key")
    realm.refresh_from_db()
    assert realm.client_key == ""
