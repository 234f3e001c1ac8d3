"""The account's API tokens and sessions pages: a secret is shown once and works, revoking
and signing out reach only the user's own tokens and sessions, bad input changes nothing."""

import re

import pytest
from allauth.usersessions.models import UserSession
from django.test import Client

from apps.access.models import ApiToken
from apps.access.services import token_authenticate, token_create
from apps.audit.models import AuditEvent
from apps.identity.services.users import user_create

pytestmark = pytest.mark.django_db


def test_account_pages_need_a_login() -> None:
    for url in ("/account/tokens/", "/account/sessions/"):
        response = Client().get(url)
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_the_security_page_links_tokens_and_sessions(portal) -> None:
    page = portal.client.get("/account/security/").content.decode()
    assert 'href="/account/tokens/"' in page
    assert 'href="/account/sessions/"' in page


def test_a_token_secret_is_shown_once_and_authenticates(portal) -> None:
    response = portal.client.post(
        "/account/tokens/", {"name": "ci", "comment": "deploys", "privsep": "on"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    secret = re.search(r'<code class="user-select-all fs-6">([0-9a-f-]{36})</code>', page)[1]
    token = token_authenticate(tokenid="alice@pve!ci", secret=secret)
    assert token is not None
    assert token.privsep
    assert token.comment == "deploys"
    assert response["Cache-Control"].startswith("max-age=0")
    again = portal.client.get("/account/tokens/").content.decode()
    assert "alice@pve!ci" in again
    assert secret not in again
    assert ApiToken.objects.get().secret_digest != secret
    assert AuditEvent.objects.filter(action="access.token_created", actor="alice@pve").exists()


def test_a_token_without_privilege_separation_and_with_an_expiry(portal) -> None:
    portal.client.post("/account/tokens/", {"name": "cli", "expire": "2031-01-31"})
    token = ApiToken.objects.get(name="cli")
    assert not token.privsep
    assert token.expire.date().isoformat() == "2031-01-31"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "This field is required."),
        ({"name": "bad name!"}, "Enter a valid value."),
        ({"name": "ci", "expire": "someday"}, "Enter a valid date."),
        ({"name": "taken"}, "already exists"),
    ],
)
def test_bad_token_input_changes_nothing(portal, data, message) -> None:
    token_create(user=portal.alice, name="taken")
    response = portal.client.post("/account/tokens/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["taken"]


def test_a_token_is_revoked_and_another_users_token_is_missing(portal) -> None:
    token_create(user=portal.alice, name="old")
    bob = user_create(userid="bob@pve", password="x", tenant=portal.acme)
    token_create(user=bob, name="old")
    response = portal.client.post("/account/tokens/old/revoke/")
    assert response.status_code == 302
    assert list(ApiToken.objects.values_list("user__username", flat=True)) == ["bob@pve"]
    assert portal.client.post("/account/tokens/old/revoke/").status_code == 404
    assert ApiToken.objects.filter(user=bob).exists()


def signed_in(user, agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    client.force_login(user)
    client.get("/")  # allauth records the session on a request
    return client


def test_sessions_list_devices_and_sign_out_the_others(portal) -> None:
    laptop = signed_in(portal.alice, "Laptop browser")
    phone = signed_in(portal.alice, "Phone browser")
    tablet = signed_in(portal.alice, "Tablet browser")
    page = laptop.get("/account/sessions/").content.decode()
    for device in (
        "Laptop browser",
        "Phone browser",
        "Tablet browser",
        "This session",
        "127.0.0.1",
    ):
        assert device in page

    phone_session = UserSession.objects.get(user_agent="Phone browser")
    assert laptop.post(f"/account/sessions/{phone_session.pk}/end/").status_code == 302
    assert phone.get("/").status_code == 302  # signed out
    assert tablet.get("/").status_code == 200

    laptop.post("/account/sessions/end-others/")
    assert tablet.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
    assert AuditEvent.objects.filter(action="identity.sessions_ended").count() == 2


def test_another_users_session_cannot_be_ended(portal) -> None:
    laptop = signed_in(portal.alice, "Laptop browser")
    bob = user_create(userid="bob@pve", password="x", tenant=portal.acme)
    bobs = signed_in(bob, "Bob's browser")
    bobs_session = UserSession.objects.get(user=bob)
    assert laptop.post(f"/account/sessions/{bobs_session.pk}/end/").status_code == 404
    assert "Bob's browser" not in laptop.get("/account/sessions/").content.decode()
    assert bobs.get("/").status_code == 200
