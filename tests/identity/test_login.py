"""The login page: realm selection, errors that reveal nothing, throttling, audit."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.identity.models import Realm
from apps.identity.services.users import realm_create, user_create
from tests.identity.conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

LOGIN_FAILED = "Login failed. Check the user name, realm and password."


def test_login_page_offers_enabled_password_realms_with_the_default_selected(client) -> None:
    realm_create(
        name="corp",
        type="ldap",
        comment="Corporate LDAP",
        options={"server1": "ldap.example.org", "base_dn": "dc=example,dc=org", "user_attr": "uid"},
    )
    body = client.get("/login/").content.decode()
    assert '<option value="pve" selected>' in body
    assert 'value="corp"' in body
    assert 'value="pam"' not in body  # the built-in PAM realm is off until enabled


def test_pve_user_logs_in_with_session_rotation_and_audit(client, alice) -> None:
    client.get("/login/")
    anonymous_key = client.session.session_key

    response = login(client, username="alice", password="alice-password-1")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert client.session.session_key != anonymous_key
    event = AuditEvent.objects.get(action="identity.login")
    assert (event.actor, event.target, event.source_ip) == ("alice@pve", "alice@pve", "127.0.0.1")


def test_typed_userid_with_realm_wins_over_the_selector(client, alice) -> None:
    realm_create(name="other", type="pve")
    response = login(client, username="alice@pve", password="alice-password-1", realm="other")
    assert response.status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client, alice) -> None:
    wrong_password = login(client, username="alice", password="nope")
    unknown_user = login(client, username="mallory", password="nope")

    assert wrong_password.status_code == unknown_user.status_code == 200
    assert LOGIN_FAILED in wrong_password.content.decode()
    assert LOGIN_FAILED in unknown_user.content.decode()
    assert "_auth_user_id" not in client.session
    failures = AuditEvent.objects.filter(action="identity.login_failed").order_by("id")
    assert [event.target for event in failures] == ["alice@pve", "mallory@pve"]


def test_disabled_user_expired_user_and_disabled_realm_cannot_log_in(client, alice) -> None:
    alice.is_active = False
    alice.save()
    assert (
        LOGIN_FAILED
        in login(client, username="alice", password="alice-password-1").content.decode()
    )

    bob = user_create(userid="bob@pve", password="bob-password-1")
    bob.expire = timezone.now() - timedelta(minutes=1)
    bob.save()
    assert LOGIN_FAILED in login(client, username="bob", password="bob-password-1").content.decode()

    carol = user_create(userid="carol@pve", password="carol-password-1")
    Realm.objects.filter(name="pve").update(enabled=False)
    assert carol.pk
    assert login(client, username="carol@pve", password="carol-password-1").status_code != 302


def test_next_parameter_is_followed_only_within_the_site(client, alice) -> None:
    response = client.post(
        "/login/?next=/account/security/",
        {"username": "alice", "realm": "pve", "password": "alice-password-1"},
    )
    assert response["Location"] == "/account/security/"
    client.logout()
    response = client.post(
        "/login/?next=https://evil.example/",
        {"username": "alice", "realm": "pve", "password": "alice-password-1"},
    )
    assert response["Location"] == "/"


def test_account_is_locked_after_repeated_failures_even_with_the_right_password(
    client, alice, settings
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(client, username="alice", password="wrong")

    response = login(client, username="alice", password="alice-password-1")

    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_client_address_is_locked_across_accounts(client, alice, settings) -> None:
    for number in range(settings.AXES_FAILURE_LIMIT):
        login(client, username=f"guess{number}", password="wrong")

    response = login(client, username="alice", password="alice-password-1")

    assert response.status_code == 429


def test_passwords_are_hashed_with_argon2_in_production_settings() -> None:
    from portal.settings import base

    assert base.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
