"""A TOTP code that opened one session does not open a second one, even from another client
within the code's 30 seconds: the login's second step refuses the replay. (The service's own
rules: tests/identity/test_totp.py; login throttling: tests/identity/test_login.py.)"""

import time

import pyotp
import pytest
from django.core.cache import cache
from django.test import Client

from apps.identity.services import totp
from apps.identity.services.users import user_create
from tests.identity.conftest import login

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled_secret() -> str:
    cache.clear()  # TOTP state lives in the cache on Redis runs
    user = user_create(userid="bob@pve", password="bob-password-1")
    device = totp.totp_begin_enrolment(user=user)
    # Enrolled with the previous step's code, so the current one is still unused.
    now = time.time()
    totp.totp_confirm_enrolment(user=user, code=pyotp.TOTP(device.secret).at(now - 30), now=now)
    return device.secret


def test_a_code_used_to_log_in_is_refused_for_a_second_login(enrolled_secret) -> None:
    code = pyotp.TOTP(enrolled_secret).now()
    first, attacker = Client(), Client()

    login(first, username="bob", password="bob-password-1")
    assert first.post("/login/verify/", {"code": code}).status_code == 302
    assert "_auth_user_id" in first.session

    assert login(attacker, username="bob", password="bob-password-1")["Location"] == (
        "/login/verify/"
    )
    replayed = attacker.post("/login/verify/", {"code": code})
    assert "That code is not valid." in replayed.content.decode()
    assert "_auth_user_id" not in attacker.session
