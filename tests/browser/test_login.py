"""Logging in through each realm type, and the TOTP step, in a real browser."""

import subprocess
import time
import uuid

import pyotp
import pytest
from playwright.sync_api import Page, expect

from apps.identity.models import Realm
from apps.identity.services import totp
from apps.identity.services.users import realm_create, user_create

# The live server runs in another thread, so the data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def sign_in(page: Page, base_url: str, *, username: str, realm: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Realm").select_option(realm)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def expect_signed_in(page: Page, userid: str) -> None:
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {userid}.")).to_be_visible()


def test_pve_realm_with_totp_step(page: Page, live_server) -> None:
    user = user_create(userid="alice@pve", password="alice-password-1")
    device = totp.totp_begin_enrolment(user=user)
    totp.totp_confirm_enrolment(user=user, code=pyotp.TOTP(device.secret).now())

    sign_in(page, live_server.url, username="alice", realm="pve", password="wrong")
    expect(page.get_by_role("alert")).to_contain_text("Login failed.")

    sign_in(page, live_server.url, username="alice", realm="pve", password="alice-password-1")
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    page.get_by_label("TOTP code or recovery code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not valid.")).to_be_visible()

    # The next step's code is accepted (±1 step) and has not been used yet.
    next_code = pyotp.TOTP(device.secret).at(time.time() + 30)
    page.get_by_label("TOTP code or recovery code").fill(next_code)
    page.get_by_role("button", name="Verify").click()
    expect_signed_in(page, "alice@pve")


def test_realm_enforced_totp_enrolment_in_the_browser(page: Page, live_server) -> None:
    Realm.objects.filter(name="pve").update(tfa_required=True)
    user_create(userid="bob@pve", password="bob-password-1")

    sign_in(page, live_server.url, username="bob", realm="pve", password="bob-password-1")
    expect(page.get_by_role("heading", name="Set up TOTP")).to_be_visible()
    expect(page.locator(".totp-qr svg")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text()
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name="Continue").click()
    expect_signed_in(page, "bob@pve")


def test_ldap_realm(page: Page, live_server, slapd) -> None:
    realm_create(
        name="corp",
        type="ldap",
        comment="Corporate LDAP",
        options={
            "server1": "127.0.0.1",
            "port": slapd.port,
            "base_dn": f"ou=people,{slapd.base_dn}",
            "user_attr": "uid",
            "bind_dn": slapd.service_dn,
        },
        bind_password=slapd.service_password,
    )
    user_create(userid="alice@corp")
    sign_in(page, live_server.url, username="alice", realm="corp", password="alice-ldap-pw")
    expect_signed_in(page, "alice@corp")


def test_active_directory_realm(page: Page, live_server, samba_ad) -> None:
    realm_create(
        name="ad",
        type="ad",
        comment="Active Directory",
        options={
            "server1": "127.0.0.1",
            "domain": samba_ad.domain,
            "mode": "ldaps",
        },
    )
    user_create(userid="dave@ad")
    sign_in(page, live_server.url, username="dave", realm="ad", password="Dave-AD-pw1")
    expect_signed_in(page, "dave@ad")


def test_pam_realm(page: Page, live_server) -> None:
    name, password = f"pb{uuid.uuid4().hex[:8]}", f"Pam-{uuid.uuid4().hex[:12]}"
    subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", name], check=True)
    subprocess.run(["chpasswd"], input=f"{name}:{password}", text=True, check=True)
    try:
        Realm.objects.filter(name="pam").update(enabled=True, options={"allowed-users": name})
        user_create(userid=f"{name}@pam")
        # Typing name@realm works whatever the selector says.
        sign_in(page, live_server.url, username=f"{name}@pam", realm="pve", password=password)
        expect_signed_in(page, f"{name}@pam")
    finally:
        subprocess.run(["userdel", name], check=True)
