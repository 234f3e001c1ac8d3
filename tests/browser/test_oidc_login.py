"""Signing in through an OpenID Connect realm in a real browser, at a real IdP (oidc-provider)."""

import pytest
from playwright.sync_api import Page, expect

from apps.identity.models import User
from apps.identity.services.users import realm_create
from apps.tenancy.models import Tenant
from tests.browser.test_login import expect_signed_in
from tests.services.oidc.provider import oidc_provider_fixture  # noqa: F401

# The live server runs in another thread, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_at_idp(page: Page, base_url: str, *, login: str) -> None:
    page.goto(f"{base_url}/login/")
    expect(page.get_by_label("Password")).to_be_visible()
    page.get_by_label("Realm").select_option("corp")
    expect(page.get_by_label("Password")).to_be_hidden()
    page.get_by_role("button", name="Sign in with Corp SSO").click()
    # The IdP's own login form (its development form accepts any login).
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("any password")
    page.get_by_role("button", name="Sign-in").click()


def corp_realm(idp, *, tenant: Tenant | None = None, **options) -> None:
    realm_create(
        name="corp",
        type="openid",
        comment="Corp SSO",
        tenant=tenant,
        options={"issuer-url": idp.issuer, "client-id": idp.client_id, **options},
        client_key=idp.client_secret,
    )


def test_sign_in_with_an_openid_connect_realm(page: Page, live_server, oidc_provider) -> None:
    idp = oidc_provider([f"{live_server.url}/accounts/oidc/corp/login/callback/"])
    tenant = Tenant.objects.create(name="ACME Inc.", slug="acme")
    corp_realm(
        idp,
        tenant=tenant,
        **{"autocreate": True, "groups-claim": "groups", "groups-autocreate": True},
    )

    sign_in_at_idp(page, live_server.url, login="alice")

    expect_signed_in(page, "alice@corp")
    user = User.objects.get(username="alice@corp")
    assert user.tenant == tenant
    assert sorted(user.access_groups.values_list("name", flat=True)) == [
        "admins-corp",
        "devs-corp",
    ]


def test_unknown_user_without_autocreate_is_refused_on_the_login_page(
    page: Page, live_server, oidc_provider
) -> None:
    corp_realm(oidc_provider([f"{live_server.url}/accounts/oidc/corp/login/callback/"]))

    sign_in_at_idp(page, live_server.url, login="mallory")

    expect(page.get_by_role("alert")).to_contain_text("mallory@corp has no account in the portal.")
    expect(page.get_by_role("button", name="Sign in with Corp SSO")).to_be_visible()
    assert not User.objects.filter(username="mallory@corp").exists()
