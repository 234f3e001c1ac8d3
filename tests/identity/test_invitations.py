"""Built-in accounts: invitations and password reset through allauth's flows."""

import re

import pytest
from django.core import mail

from apps.audit.services import Actor
from apps.identity.services.invitations import user_invite
from apps.identity.services.users import realm_create, user_create
from tests.identity.conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def set_password_through_link(client, link: str, password: str):
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    return client.post(form_url, {"password1": password, "password2": password})


def test_invited_user_sets_a_password_and_logs_in(client, rf, django_capture_on_commit_callbacks):
    request = rf.get("/", HTTP_HOST="localhost")
    with django_capture_on_commit_callbacks(execute=True):
        user = user_invite(
            userid="dora@pve", email="dora@example.org", actor=Actor.system(), request=request
        )
    assert not user.has_usable_password()
    (message,) = mail.outbox
    assert message.to == ["dora@example.org"]
    link = re.search(r"http://localhost(/\S+)", message.body).group(1)

    set_password_through_link(client, link, "Dora-chooses-1")

    assert login(client, username="dora", password="Dora-chooses-1").status_code == 302


def test_invitations_are_only_for_builtin_realms(rf) -> None:
    realm_create(
        name="corp",
        type="ldap",
        options={"server1": "ldap.example.org", "base_dn": "dc=example,dc=org", "user_attr": "uid"},
    )
    with pytest.raises(Exception, match="built-in"):
        user_invite(
            userid="x@corp", email="x@example.org", actor=Actor.system(), request=rf.get("/")
        )


def test_password_reset_reaches_pve_accounts_only(client, alice) -> None:
    realm_create(
        name="corp",
        type="ldap",
        options={"server1": "ldap.example.org", "base_dn": "dc=example,dc=org", "user_attr": "uid"},
    )
    user_create(userid="alice@corp", email="alice@example.org")

    client.post("/accounts/password/reset/", {"email": "alice@example.org"})

    (message,) = mail.outbox
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+)", message.body).group(1)
    set_password_through_link(client, link, "Alice-new-pass-1")
    assert login(client, username="alice", password="Alice-new-pass-1").status_code == 302
