"""Tickets, CSRF tokens, ticket renewal, TOTP two-step login and API tokens."""

from __future__ import annotations

import re
import time
import urllib.parse
from pathlib import Path

import pyotp
import pytest

from pvesim.auth import TicketSigner, totp_code, totp_matches
from tests.pvesim.pvesim_client import RawClient
from tests.pvesim_server import PvesimServer

TICKET_RE = re.compile(r"PVE:root@pam:[0-9A-F]{8}::[A-Za-z0-9+/]+=*")
CSRF_RE = re.compile(r"[0-9A-F]{8}:[A-Za-z0-9+/]{43}")


def test_ticket_and_csrf_formats(pvesim: PvesimServer, ca_file: Path) -> None:
    data = RawClient(pvesim, ca_file).login("root@pam", pvesim.root_password)
    assert TICKET_RE.fullmatch(data["ticket"])
    assert CSRF_RE.fullmatch(data["CSRFPreventionToken"])
    assert data["username"] == "root@pam"
    assert data["clustername"] == "pvesim"
    assert data["cap"]["vms"]["VM.PowerMgmt"] == 1


def test_ticket_lifetime_window(tmp_path: Path) -> None:
    signer = TicketSigner(tmp_path)
    now = 1_800_000_000
    ticket = signer.create_ticket("alice@pve", now=now)
    assert ticket.startswith(f"PVE:alice@pve:{now:08X}::")
    assert signer.verify_ticket(ticket, now=now + 7199) is not None
    assert signer.verify_ticket(ticket, now=now + 7200) is None
    assert signer.verify_ticket(ticket, now=now - 299) is not None
    assert signer.verify_ticket(ticket, now=now - 300) is None
    forged = ticket.replace("alice@pve", "root@pam")
    assert signer.verify_ticket(forged, now=now) is None
    # Keys live in the data directory: a new signer (a restart) accepts old tickets.
    assert TicketSigner(tmp_path).verify_ticket(ticket, now=now + 10) is not None


def test_csrf_token_is_bound_to_the_user(tmp_path: Path) -> None:
    signer = TicketSigner(tmp_path)
    token = signer.create_csrf_token("alice@pve", now=1_800_000_000)
    assert signer.verify_csrf_token(token, "alice@pve", now=1_800_000_100)
    assert not signer.verify_csrf_token(token, "bob@pve", now=1_800_000_100)
    assert not signer.verify_csrf_token(token, "alice@pve", now=1_800_007_200)


def test_unauthenticated_and_bad_credentials(pvesim: PvesimServer, ca_file: Path) -> None:
    anonymous = RawClient(pvesim, ca_file)
    response = anonymous.get("/version")
    assert (response.status_code, response.reason, response.text) == (401, "No ticket", "")
    anonymous.use_ticket("PVE:root@pam:00000000::forged", "")
    response = anonymous.get("/version")
    assert (response.status_code, response.reason) == (401, "Authentication failed!")
    response = RawClient(pvesim, ca_file).post(
        "/access/ticket", data={"username": "root@pam", "password": "wrong"}
    )
    assert (response.status_code, response.reason) == (401, "authentication failure")
    assert response.json()["data"] is None
    response = RawClient(pvesim, ca_file).post(
        "/access/ticket", data={"username": "nobody@pve", "password": "wrong"}
    )
    assert (response.status_code, response.reason) == (401, "authentication failure")
    assert RawClient(pvesim, ca_file).get("/access/domains").status_code == 200


def test_csrf_required_for_writes_with_a_ticket(root: RawClient) -> None:
    response = root.post(
        "/pools", data={"poolid": "csrf-test"}, headers={"CSRFPreventionToken": "x"}
    )
    assert (response.status_code, response.reason) == (
        401,
        "Permission denied - invalid csrf token",
    )
    assert root.get("/pools").status_code == 200  # GET needs no CSRF token
    assert root.post("/pools", data={"poolid": "csrf-test"}).status_code == 200


def test_ticket_renewal(pvesim: PvesimServer, ca_file: Path, root: RawClient) -> None:
    ticket = root.session.cookies["PVEAuthCookie"]
    response = RawClient(pvesim, ca_file).post(
        "/access/ticket", data={"username": "root@pam", "password": ticket}
    )
    assert response.status_code == 200
    assert TICKET_RE.fullmatch(response.json()["data"]["ticket"])
    # root@pam's ticket mints tickets for other users; other users' tickets do not.
    root.post("/access/users", data={"userid": "minted@pve", "password": "minted-pass"})
    root.post("/access/users", data={"userid": "other@pve", "password": "other-pass"})
    minted = RawClient(pvesim, ca_file).post(
        "/access/ticket", data={"username": "minted@pve", "password": ticket}
    )
    assert minted.json()["data"]["username"] == "minted@pve"
    other_ticket = RawClient(pvesim, ca_file).login("other@pve", "other-pass")["ticket"]
    response = RawClient(pvesim, ca_file).post(
        "/access/ticket", data={"username": "minted@pve", "password": other_ticket}
    )
    assert response.status_code == 401


def test_totp_matches_rfc6238_vectors() -> None:
    # RFC 6238 appendix B, SHA1 key "12345678901234567890", 8 digits.
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    assert totp_code(secret, 59, digits=8) == "94287082"
    assert totp_code(secret, 1111111109, digits=8) == "07081804"
    assert totp_code(secret, 2000000000, digits=8) == "69279037"
    current = pyotp.TOTP(secret).now()
    assert totp_matches(secret, current)
    assert not totp_matches(secret, "000000" if current != "000000" else "111111", now=59)


def test_totp_two_step_login(pvesim: PvesimServer, ca_file: Path, root: RawClient) -> None:
    assert (
        root.post(
            "/access/users", data={"userid": "tfa@pve", "password": "tfa-password-1"}
        ).status_code
        == 200
    )
    user = RawClient(pvesim, ca_file)
    user.login("tfa@pve", "tfa-password-1")
    secret = pyotp.random_base32()
    uri = f"otpauth://totp/pvesim:tfa@pve?secret={secret}&issuer=pvesim"
    response = user.post(
        "/access/tfa/tfa@pve",
        data={
            "type": "totp",
            "totp": uri,
            "value": pyotp.TOTP(secret).now(),
            "password": "tfa-password-1",
        },
    )
    assert response.status_code == 200, response.reason
    assert root.get("/access/tfa/tfa@pve").json()["data"][0]["type"] == "totp"

    first = RawClient(pvesim, ca_file).login("tfa@pve", "tfa-password-1")
    assert first["NeedTFA"] == 1
    assert first["ticket"].startswith("PVE:!tfa!")
    assert "cap" not in first
    half = RawClient(pvesim, ca_file)
    half.use_ticket(first["ticket"], first["CSRFPreventionToken"])
    assert half.get("/version").status_code == 401  # the half ticket opens nothing

    wrong = RawClient(pvesim, ca_file).post(
        "/access/ticket",
        data={"username": "tfa@pve", "tfa-challenge": first["ticket"], "password": "totp:000000"},
    )
    if pyotp.TOTP(secret).verify("000000", valid_window=1):
        pytest.fail("unlucky random secret: 000000 is a valid code right now")
    assert wrong.status_code == 401
    second = RawClient(pvesim, ca_file).post(
        "/access/ticket",
        data={
            "username": "tfa@pve",
            "tfa-challenge": first["ticket"],
            "password": f"totp:{pyotp.TOTP(secret).now()}",
        },
    )
    assert second.status_code == 200
    data = second.json()["data"]
    assert data["ticket"].startswith("PVE:tfa@pve:")
    full = RawClient(pvesim, ca_file)
    full.use_ticket(data["ticket"], data["CSRFPreventionToken"])
    assert full.get("/version").status_code == 200


def test_api_tokens(pvesim: PvesimServer, ca_file: Path, root: RawClient) -> None:
    root.post("/access/users", data={"userid": "tok@pve", "password": "tok-password-1"})
    root.put("/access/acl", data={"path": "/", "users": "tok@pve", "roles": "PVEAuditor"})
    created = root.post("/access/users/tok@pve/token/ci", data={"privsep": 1}).json()["data"]
    assert created["full-tokenid"] == "tok@pve!ci"
    assert created["info"] == {"privsep": 1, "expire": 0}
    assert re.fullmatch(r"[0-9a-f-]{36}", created["value"])

    token = RawClient(pvesim, ca_file)
    token.use_token("tok@pve!ci", created["value"])
    # privsep=1 without own ACLs: the token sees nothing although its user may audit.
    assert token.get("/cluster/resources", params={"type": "vm"}).json()["data"] == []
    root.put("/access/acl", data={"path": "/vms", "tokens": "tok@pve!ci", "roles": "PVEAuditor"})
    assert token.get("/cluster/resources", params={"type": "vm"}).json()["data"] != []
    # Tokens skip CSRF but cannot call allowtoken=0 methods.
    response = token.put("/access/password", data={"userid": "tok@pve", "password": "x" * 10})
    assert response.status_code == 403
    assert response.reason == (
        "Permission check failed (URI '/api2/json/access/password' not available with API token,"
        " need proper ticket.)"
    )
    wrong = RawClient(pvesim, ca_file)
    wrong.use_token("tok@pve!ci", "00000000-0000-0000-0000-000000000000")
    assert wrong.get("/version").reason == "Authentication failed!"

    expired = root.post(
        "/access/users/tok@pve/token/old", data={"expire": int(time.time()) - 10}
    ).json()["data"]
    old = RawClient(pvesim, ca_file)
    old.use_token("tok@pve!old", expired["value"])
    assert old.get("/version").status_code == 401

    listed = root.get("/access/users/tok@pve/token").json()["data"]
    assert {item["tokenid"] for item in listed} == {"ci", "old"}
    assert root.delete("/access/users/tok@pve/token/ci").status_code == 200
    assert token.get("/version").status_code == 401
    # The header value is URI-unescaped before use.
    fresh = root.post("/access/users/tok@pve/token/esc").json()["data"]
    escaped = RawClient(pvesim, ca_file)
    escaped.use_token(urllib.parse.quote("tok@pve!esc", safe=""), fresh["value"])
    assert escaped.get("/version").status_code == 200


def test_totp_lockout_and_unlock(pvesim: PvesimServer, ca_file: Path, root: RawClient) -> None:
    root.post("/access/users", data={"userid": "locked@pve", "password": "locked-password"})
    secret = pyotp.random_base32()
    response = root.post(
        "/access/tfa/locked@pve",
        data={
            "type": "totp",
            "totp": f"otpauth://totp/x?secret={secret}",
            "value": pyotp.TOTP(secret).now(),
        },
    )
    assert response.ok, response.reason

    def second_step(code: str) -> int:
        first = RawClient(pvesim, ca_file).login("locked@pve", "locked-password")
        return (
            RawClient(pvesim, ca_file)
            .post(
                "/access/ticket",
                data={
                    "username": "locked@pve",
                    "tfa-challenge": first["ticket"],
                    "password": f"totp:{code}",
                },
            )
            .status_code
        )

    wrong = "000000" if not pyotp.TOTP(secret).verify("000000", valid_window=1) else "999999"
    assert [second_step(wrong) for _ in range(8)] == [401] * 8
    assert second_step(pyotp.TOTP(secret).now()) == 401  # locked: even the right code fails
    users = {u["userid"]: u for u in root.get("/access/users").json()["data"]}
    assert users["locked@pve"]["totp-locked"] == 1
    assert root.put("/access/users/locked@pve/unlock-tfa").json()["data"] == 1
    assert root.put("/access/users/locked@pve/unlock-tfa").json()["data"] == 0
    assert second_step(pyotp.TOTP(secret).now()) == 200


def test_vnc_ticket_binding_and_window(tmp_path: Path) -> None:
    signer = TicketSigner(tmp_path)
    now = 1_800_000_000
    ticket = signer.create_vnc_ticket("alice@pve", "/vms/100", 5900, now=now)
    assert ticket.startswith(f"PVEVNC:{now:08X}::")
    assert signer.verify_vnc_ticket(ticket, "alice@pve", "/vms/100", 5900, now=now + 39)
    assert signer.verify_vnc_ticket(f"Ab3!xY7z:{ticket}", "alice@pve", "/vms/100", 5900, now=now)
    assert not signer.verify_vnc_ticket(ticket, "alice@pve", "/vms/100", 5900, now=now + 40)
    assert not signer.verify_vnc_ticket(ticket, "alice@pve", "/vms/100", 5900, now=now - 20)
    assert signer.verify_vnc_ticket(ticket, "alice@pve", "/vms/100", 5900, now=now - 19)
    assert not signer.verify_vnc_ticket(ticket, "bob@pve", "/vms/100", 5900, now=now)
    assert not signer.verify_vnc_ticket(ticket, "alice@pve", "/vms/101", 5900, now=now)
    assert not signer.verify_vnc_ticket(ticket, "alice@pve", "/vms/100", 5901, now=now)
