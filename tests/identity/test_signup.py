"""Open sign-up (off by default) creates built-in accounts and verifies the e-mail address."""

import pytest
from django.core import mail

from apps.identity.models import User
from tests.identity.conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

FORM = {
    "username": "newbie",
    "email": "newbie@example.org",
    "password1": "Newbie-pass-12",
    "password2": "Newbie-pass-12",
}


def test_sign_up_is_closed_by_default(client) -> None:
    response = client.post("/accounts/signup/", FORM)
    assert "closed" in response.content.decode().lower()
    assert not User.objects.filter(username="newbie@pve").exists()


def test_open_sign_up_creates_a_pve_account_and_sends_a_verification_mail(client, settings):
    settings.ACCOUNT_ALLOW_REGISTRATION = True

    response = client.post("/accounts/signup/", FORM)

    assert response.status_code == 302
    user = User.objects.get(username="newbie@pve")
    assert (user.realm.name, user.email) == ("pve", "newbie@example.org")
    assert any("newbie@example.org" in message.to for message in mail.outbox)
    client.logout()
    assert login(client, username="newbie", password="Newbie-pass-12").status_code == 302


def test_sign_up_refuses_a_taken_name_or_another_realm(client, settings, alice) -> None:
    settings.ACCOUNT_ALLOW_REGISTRATION = True
    taken = client.post("/accounts/signup/", {**FORM, "username": "alice"})
    assert "already" in taken.content.decode()
    other = client.post("/accounts/signup/", {**FORM, "username": "x@corp"})
    assert "becomes name@pve" in other.content.decode()
    assert User.objects.count() == 1


def test_a_realm_requiring_totp_sends_new_sign_ups_to_enrolment(client, settings) -> None:
    from apps.identity.models import Realm

    settings.ACCOUNT_ALLOW_REGISTRATION = True
    Realm.objects.filter(name="pve").update(tfa_required=True)
    client.post("/accounts/signup/", FORM)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/account/security/totp/"
    assert client.get("/account/security/totp/").status_code == 200
