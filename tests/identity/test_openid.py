"""OpenID Connect realms against a real IdP (panva's oidc-provider): the whole code flow."""

import pytest
from allauth.usersessions.models import UserSession
from django.core.exceptions import ValidationError

from apps.access.models import Group
from apps.audit.models import AuditEvent
from apps.identity.models import Realm, User
from apps.identity.services.users import realm_create, realm_modify, user_create
from apps.tenancy.models import Tenant
from tests.services.oidc.provider import OidcProvider

pytestmark = pytest.mark.django_db

CALLBACK = "http://testserver/accounts/oidc/{realm}/login/callback/"


def openid_realm(idp: OidcProvider, *, name="corp", client_key=None, **options) -> Realm:
    return realm_create(
        name=name,
        type="openid",
        comment="Corp SSO",
        options={"issuer-url": idp.issuer, "client-id": idp.client_id, **options},
        client_key=idp.client_secret if client_key is None else client_key,
    )


@pytest.fixture
def idp(oidc_provider) -> OidcProvider:
    return oidc_provider([CALLBACK.format(realm="corp")])


def sign_in(client, idp: OidcProvider, *, login: str, realm: str = "corp", next_url: str = ""):
    """The login page's "Sign in with" button, the IdP's login form, and back to the portal."""
    started = client.post(f"/accounts/oidc/{realm}/login/", {"process": "login", "next": next_url})
    assert started.status_code == 302
    assert started["Location"].startswith(f"{idp.issuer}/auth?")
    callback = idp.sign_in(started["Location"], login=login)
    assert callback.startswith(CALLBACK.format(realm=realm))
    return client.get(callback.removeprefix("http://testserver"))


def signed_in_userid(client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id).username if user_id else None


def test_autocreated_user_lands_in_the_realms_tenant_with_the_claimed_groups(client, idp) -> None:
    tenant = Tenant.objects.create(name="ACME Inc.", slug="acme")
    realm = openid_realm(
        idp, autocreate=True, **{"groups-claim": "groups", "groups-autocreate": True}
    )
    Realm.objects.filter(pk=realm.pk).update(tenant=tenant)

    response = sign_in(client, idp, login="alice", next_url="/account/security/")

    assert response.status_code == 302
    assert response["Location"] == "/account/security/"
    user = User.objects.get(username="alice@corp")
    assert signed_in_userid(client) == "alice@corp"
    assert (user.tenant, user.realm, user.email) == (tenant, realm, "alice@example.org")
    assert not user.has_usable_password()
    assert sorted(user.access_groups.values_list("name", flat=True)) == [
        "admins-corp",
        "devs-corp",
    ]
    assert UserSession.objects.filter(user=user).count() == 1
    assert AuditEvent.objects.filter(action="identity.login", target="alice@corp").exists()


def test_claim_values_that_are_no_group_name_are_skipped(client, idp) -> None:
    openid_realm(idp, autocreate=True, **{"groups-claim": "groups", "groups-autocreate": True})
    sign_in(client, idp, login="bob")
    assert list(Group.objects.values_list("name", flat=True)) == ["devs-corp"]


def test_without_groups_autocreate_only_existing_groups_are_joined(client, idp) -> None:
    Group.objects.create(name="devs-corp")
    openid_realm(idp, autocreate=True, **{"groups-claim": "groups"})
    sign_in(client, idp, login="alice")
    user = User.objects.get(username="alice@corp")
    assert list(user.access_groups.values_list("name", flat=True)) == ["devs-corp"]
    assert not Group.objects.filter(name="admins-corp").exists()


def test_groups_overwrite_drops_groups_the_claim_no_longer_names(client, idp) -> None:
    realm = openid_realm(idp, **{"groups-claim": "groups", "groups-overwrite": True})
    user = user_create(userid="alice@corp")
    stale = Group.objects.create(name="interns-corp")
    stale.members.add(user)
    Group.objects.create(name="admins-corp")
    assert realm.options["groups-overwrite"] is True

    sign_in(client, idp, login="alice")

    assert list(user.access_groups.values_list("name", flat=True)) == ["admins-corp"]


def test_username_claim_picks_the_user_name(client, idp) -> None:
    openid_realm(idp, autocreate=True, **{"username-claim": "username"})
    sign_in(client, idp, login="carol")
    assert signed_in_userid(client) == "carol-handle@corp"


def test_without_autocreate_an_unknown_user_is_refused_and_nothing_is_created(client, idp) -> None:
    openid_realm(idp)

    response = sign_in(client, idp, login="alice")

    assert response.status_code == 302
    assert response["Location"] == "/login/?realm=corp"
    page = client.get(response["Location"]).content.decode()
    assert "alice@corp has no account in the portal." in page
    assert signed_in_userid(client) is None
    assert not User.objects.filter(realm__name="corp").exists()
    failure = AuditEvent.objects.get(action="identity.login_failed")
    assert failure.target == "alice@corp"


def test_without_autocreate_an_existing_user_signs_in(client, idp) -> None:
    openid_realm(idp)
    user_create(userid="alice@corp")
    sign_in(client, idp, login="alice")
    assert signed_in_userid(client) == "alice@corp"


def test_a_next_address_off_the_portal_is_not_followed(client, idp) -> None:
    openid_realm(idp)
    user_create(userid="alice@corp")
    response = sign_in(client, idp, login="alice", next_url="https://evil.example/")
    assert signed_in_userid(client) == "alice@corp"
    assert response["Location"] == "/"


def test_a_disabled_realm_is_neither_offered_nor_usable(client, idp) -> None:
    realm = openid_realm(idp, autocreate=True)
    started = client.post("/accounts/oidc/corp/login/", {"process": "login"})
    realm_modify(realm=realm, enabled=False)

    assert "Sign in with Corp SSO" not in client.get("/login/?realm=corp").content.decode()
    assert client.post("/accounts/oidc/corp/login/", {"process": "login"}).status_code == 404
    # A sign-in begun before the realm was disabled does not finish either.
    callback = idp.sign_in(started["Location"], login="alice")
    assert client.get(callback.removeprefix("http://testserver")).status_code == 404
    assert not User.objects.filter(realm=realm).exists()


def test_a_wrong_client_key_fails_the_token_exchange_clearly(client, idp) -> None:
    openid_realm(idp, autocreate=True, client_key="not-the-secret")

    response = sign_in(client, idp, login="alice")

    assert response["Location"] == "/login/?realm=corp"
    page = client.get(response["Location"]).content.decode()
    assert "Sign-in with Corp SSO failed" in page
    assert not User.objects.filter(username="alice@corp").exists()
    assert signed_in_userid(client) is None
    assert AuditEvent.objects.filter(action="identity.login_failed", target="/access/realm/corp")


def test_realm_required_totp_is_enrolled_after_the_idp(client, idp) -> None:
    realm = openid_realm(idp, autocreate=True)
    realm_modify(realm=realm, tfa_required=True)

    response = sign_in(client, idp, login="alice")

    assert response["Location"] == "/login/enrol/"
    assert signed_in_userid(client) is None


def test_the_login_page_offers_the_realms_button_instead_of_password_fields(client, idp) -> None:
    openid_realm(idp)
    response = client.get("/login/?realm=corp")
    # The button's redirect to the IdP passes the page's Content-Security-Policy.
    assert f"form-action 'self' {idp.issuer}" in response["Content-Security-Policy"]
    page = response.content.decode()
    assert 'action="/accounts/oidc/corp/login/"' in page
    assert "Sign in with Corp SSO" in page
    assert page.count("data-password-field hidden") == 3
    # Another realm chosen: the password fields, and the button stays hidden until chosen.
    page = client.get("/login/?realm=pve").content.decode()
    assert "data-password-field hidden" not in page
    assert 'data-openid-realm="corp" hidden' in page


def test_openid_users_have_no_password_login(client, idp) -> None:
    openid_realm(idp)
    user_create(userid="alice@corp")
    response = client.post("/login/", {"username": "alice", "realm": "corp", "password": "x"})
    assert "Login failed." in response.content.decode()


def test_client_key_is_stored_encrypted_and_never_in_options(idp) -> None:
    realm = openid_realm(idp, client_key="", **{"client-key": "from-pveum"})
    realm.refresh_from_db()
    assert realm.client_key == "from-pveum"
    assert "client-key" not in realm.options
    realm_modify(realm=realm, options={"client-key": "rotated"})
    realm.refresh_from_db()
    assert realm.client_key == "rotated"


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"issuer-url": "http://idp.example.com", "client-id": "x"}, "issuer-url"),
        ({"issuer-url": "ftp://idp.example.com", "client-id": "x"}, "issuer-url"),
        ({"issuer-url": "https://idp.example.com?a=1", "client-id": "x"}, "issuer-url"),
        ({"issuer-url": "https://idp.example.com"}, "client-id"),
        (
            {"issuer-url": "https://idp.example.com", "client-id": "x", "groups-claim": "a b"},
            "groups-claim",
        ),
    ],
)
def test_realm_options_are_validated(options, problem) -> None:
    with pytest.raises(ValidationError) as refused:
        realm_create(name="sso", type="openid", options=options)
    assert problem in refused.value.message_dict


def test_https_issuer_and_loopback_http_are_accepted() -> None:
    realm = realm_create(
        name="sso",
        type="openid",
        options={"issuer-url": "https://login.example.com/realms/corp", "client-id": "portal"},
    )
    assert realm.options["issuer-url"] == "https://login.example.com/realms/corp"
