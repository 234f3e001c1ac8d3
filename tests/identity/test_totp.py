"""TOTP: enrolment, the login step, ±1 step, replay refusal, recovery codes, lockout, unlock."""

import time

import pyotp
import pytest

from apps.audit.models import AuditEvent
from apps.audit.services import Actor
from apps.identity.models import Realm, TotpDevice
from apps.identity.services import totp
from apps.identity.services.users import user_create
from tests.identity.conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def enrolled(user, *, at: float) -> tuple[str, list[str]]:
    """Enrol `user` with a code of the step before `at`; returns the secret and recovery codes."""
    device = totp.totp_begin_enrolment(user=user)
    codes = totp.totp_confirm_enrolment(
        user=user, code=pyotp.TOTP(device.secret).at(at - 30), now=at
    )
    return device.secret, codes


def test_enrolment_needs_a_valid_code_and_returns_ten_single_use_recovery_codes(alice) -> None:
    device = totp.totp_begin_enrolment(user=alice)
    assert "otpauth://totp/" in totp.provisioning_uri(device)
    assert totp.provisioning_qr_svg(device).startswith("<?xml")

    with pytest.raises(totp.TotpError, match="not valid"):
        totp.totp_confirm_enrolment(user=alice, code="000000", now=0)
    assert not totp.totp_is_active(alice)

    codes = totp.totp_confirm_enrolment(user=alice, code=pyotp.TOTP(device.secret).now())
    assert len(codes) == len(set(codes)) == 10
    assert totp.totp_is_active(alice)
    stored = TotpDevice.objects.get(user=alice)
    assert stored.secret == device.secret
    assert AuditEvent.objects.filter(action="identity.totp_enrolled", target="alice@pve").exists()


def test_secret_is_encrypted_at_rest(alice) -> None:
    from django.db import connection

    device = totp.totp_begin_enrolment(user=alice)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM identity_totpdevice WHERE id = %s", [device.pk])
        (raw,) = cursor.fetchone()
    assert device.secret not in raw


def test_codes_one_step_either_side_are_accepted_two_steps_are_not(alice) -> None:
    now = 1_800_000_000.0
    secret, _codes = enrolled(alice, at=now - 300)
    generator = pyotp.TOTP(secret)
    assert not totp.totp_verify(user=alice, code=generator.at(now - 60), now=now)
    assert not totp.totp_verify(user=alice, code=generator.at(now + 60), now=now)
    assert totp.totp_verify(user=alice, code=generator.at(now - 30), now=now)
    assert totp.totp_verify(user=alice, code=generator.at(now + 30), now=now)


def test_each_code_is_accepted_once(alice) -> None:
    now = 1_800_000_000.0
    secret, _codes = enrolled(alice, at=now - 300)
    code = pyotp.TOTP(secret).at(now)

    assert totp.totp_verify(user=alice, code=code, now=now)
    assert not totp.totp_verify(user=alice, code=code, now=now)
    # An older step's code is a replay too, even though it is inside the window.
    assert not totp.totp_verify(user=alice, code=pyotp.TOTP(secret).at(now - 30), now=now)


def test_eight_wrong_codes_lock_totp_until_an_admin_unlocks(alice) -> None:
    now = 1_800_000_000.0
    secret, _codes = enrolled(alice, at=now - 300)
    for _ in range(7):
        assert not totp.totp_verify(user=alice, code="000000", now=now)
    assert not totp.totp_is_locked(alice)
    assert not totp.totp_verify(user=alice, code="000000", now=now)
    assert totp.totp_is_locked(alice)

    assert not totp.totp_verify(user=alice, code=pyotp.TOTP(secret).at(now), now=now)

    operator = user_create(userid="root-op@pve", password="x", is_staff=True)
    totp.totp_unlock(user=alice, actor=Actor.user(operator))
    assert totp.totp_verify(user=alice, code=pyotp.TOTP(secret).at(now), now=now)
    assert AuditEvent.objects.filter(action="identity.totp_locked").count() == 1
    assert AuditEvent.objects.get(action="identity.totp_unlocked").actor == "root-op@pve"


def test_recovery_codes_work_once_and_while_totp_is_locked(alice) -> None:
    _secret, codes = enrolled(alice, at=time.time())
    TotpDevice.objects.filter(user=alice).update(locked_at="2026-01-01T00:00:00Z")

    assert totp.recovery_code_use(user=alice, code=codes[0].upper())
    assert not totp.recovery_code_use(user=alice, code=codes[0])
    assert not totp.recovery_code_use(user=alice, code="aaaaa-bbbbb")
    assert totp.recovery_codes_left(alice) == 9


def test_recovery_codes_are_stored_only_as_digests(alice) -> None:
    _secret, codes = enrolled(alice, at=time.time())
    digests = set(alice.recovery_codes.values_list("code_digest", flat=True))
    assert len(digests) == 10
    assert not digests & set(codes)


def test_login_asks_for_the_code_then_logs_in(client, alice) -> None:
    secret, _codes = enrolled(alice, at=time.time())

    response = login(client, username="alice", password="alice-password-1")
    assert response["Location"] == "/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # not logged in yet

    wrong = client.post("/login/verify/", {"code": "000000"})
    assert "That code is not valid." in wrong.content.decode()

    response = client.post("/login/verify/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert AuditEvent.objects.get(action="identity.login").detail == {"second_factor": "totp"}


def test_login_with_a_recovery_code(client, alice) -> None:
    _secret, codes = enrolled(alice, at=time.time())
    login(client, username="alice", password="alice-password-1")
    response = client.post("/login/verify/", {"code": codes[3]})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_second_step_without_the_password_step_goes_back_to_login(client, alice) -> None:
    enrolled(alice, at=time.time())
    response = client.post("/login/verify/", {"code": "123456"})
    assert response["Location"] == "/login/"


def test_realm_enforced_totp_makes_users_enrol_before_the_session_starts(client, alice) -> None:
    Realm.objects.filter(name="pve").update(tfa_required=True)

    response = login(client, username="alice", password="alice-password-1")
    assert response["Location"] == "/login/enrol/"
    page = client.get("/login/enrol/").content.decode()
    assert "<svg" in page
    assert "_auth_user_id" not in client.session

    secret = TotpDevice.objects.get(user=alice).secret
    response = client.post("/login/enrol/", {"code": pyotp.TOTP(secret).now()})

    assert response.status_code == 200
    assert 'data-testid="recovery-codes"' in response.content.decode()
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_account_page_enrols_removes_and_regenerates(client, alice) -> None:
    client.force_login(alice)
    assert "TOTP is off." in client.get("/account/security/").content.decode()

    client.get("/account/security/totp/")
    secret = TotpDevice.objects.get(user=alice).secret
    response = client.post("/account/security/totp/", {"code": pyotp.TOTP(secret).now()})
    assert 'data-testid="recovery-codes"' in response.content.decode()
    assert "10 recovery codes left" in client.get("/account/security/").content.decode()

    first = set(alice.recovery_codes.values_list("code_digest", flat=True))
    client.post("/account/security/recovery-codes/")
    assert first.isdisjoint(alice.recovery_codes.values_list("code_digest", flat=True))

    client.post("/account/security/totp/remove/")
    assert not totp.totp_is_active(alice)
    assert AuditEvent.objects.filter(action="identity.totp_removed").exists()
