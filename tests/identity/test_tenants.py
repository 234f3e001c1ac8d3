"""A tenant's own realm puts its users in the tenant; tenants can require TOTP."""

import pytest
from django.core.exceptions import ValidationError

from apps.identity.services.sync import realm_sync
from apps.identity.services.users import realm_create, user_create
from apps.tenancy.models import Tenant
from tests.identity.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme():
    return Tenant.objects.create(name="ACME Inc.", slug="acme")


def test_users_of_a_tenant_realm_land_in_the_tenant(acme) -> None:
    realm_create(name="acme", type="pve", tenant=acme)
    assert user_create(userid="wile@acme", password="x").tenant == acme
    other = Tenant.objects.create(name="Other", slug="other")
    with pytest.raises(ValidationError, match="belong to tenant 'acme'"):
        user_create(userid="road@acme", tenant=other)


def test_synced_directory_users_land_in_the_realm_tenant(acme, slapd) -> None:
    realm = realm_create(
        name="acmeldap",
        type="ldap",
        tenant=acme,
        options={
            "server1": "127.0.0.1",
            "port": slapd.port,
            "base_dn": f"ou=people,{slapd.base_dn}",
            "user_attr": "uid",
            "bind_dn": slapd.service_dn,
        },
        bind_password=slapd.service_password,
    )
    realm_sync(realm=realm, scope="users")
    assert set(acme.users.values_list("username", flat=True)) == {
        "alice@acmeldap",
        "bob@acmeldap",
        "carol@acmeldap",
    }


@pytest.mark.embedded
def test_tenant_enforced_totp_applies_to_its_users_only(client, acme) -> None:
    acme.tfa_required = True
    acme.save()
    user_create(userid="wile@pve", password="wile-pass-1", tenant=acme)
    user_create(userid="free@pve", password="free-pass-1")

    assert login(client, username="wile", password="wile-pass-1")["Location"] == "/login/enrol/"
    client.get("/login/")
    assert login(client, username="free", password="free-pass-1")["Location"] == "/"
