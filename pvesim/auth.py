"""Tickets, CSRF tokens, VNC tickets and TOTP, as PVE builds and checks them (FACTS §2, §3, §7).

The RSA key (``priv/authkey.key``) and the CSRF secret (``priv/pve-www.key``) live in the data
directory, so tickets stay valid across simulator restarts, as they do across pveproxy restarts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pvesim.store import atomic_write

TICKET_LIFETIME = 7200  # $ticket_lifetime in AccessControl.pm
CLOCK_SKEW_GRACE = 300  # $auth_graceperiod: tickets from up to 5 min "in the future" pass
VNC_TICKET_MIN_AGE = -20
VNC_TICKET_MAX_AGE = 40
TFA_TICKET_LIFETIME = 120


@dataclass(frozen=True)
class TicketInfo:
    userid: str
    created: int


class TicketSigner:
    """Signs and verifies ``PVE:``, ``PVE:!tfa!`` and ``PVEVNC:`` tickets and CSRF tokens."""

    def __init__(self, private_dir: Path) -> None:
        key_path = private_dir / "authkey.key"
        if not key_path.exists():
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            atomic_write(key_path, pem, mode=0o600)
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        self._key = loaded
        www_key_path = private_dir / "pve-www.key"
        if not www_key_path.exists():
            atomic_write(www_key_path, secrets.token_hex(32), mode=0o600)
        self._csrf_secret = www_key_path.read_bytes()

    # --- generic RSA tickets ---------------------------------------------------------------
    def _sign(self, plain: str) -> str:
        signature = self._key.sign(plain.encode(), padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode()

    def _verify_signature(self, plain: str, signature: str) -> bool:
        try:
            raw = base64.b64decode(signature, validate=True)
            self._key.public_key().verify(raw, plain.encode(), padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            return False
        return True

    def _assemble(self, prefix: str, data: str | None, secret_data: str | None, now: int) -> str:
        plain = f"{prefix}:" + (f"{data}:" if data is not None else "") + f"{now:08X}"
        signed = f"{plain}:{secret_data}" if secret_data is not None else plain
        return f"{plain}::{self._sign(signed)}"

    def _verify(
        self,
        ticket: str,
        prefix: str,
        secret_data: str | None,
        min_age: int,
        max_age: int,
        now: int,
    ) -> tuple[str | None, int] | None:
        """Return (data, created) for a valid ticket with this prefix, else None."""
        plain, sep, signature = ticket.partition("::")
        if not sep or not plain.startswith(prefix + ":"):
            return None
        rest = plain[len(prefix) + 1 :]
        data, _, timestamp = rest.rpartition(":")
        if len(timestamp) != 8:
            return None
        try:
            created = int(timestamp, 16)
        except ValueError:
            return None
        signed = f"{plain}:{secret_data}" if secret_data is not None else plain
        if not self._verify_signature(signed, signature):
            return None
        age = now - created
        if not min_age < age < max_age:
            return None
        return (data or None), created

    # --- login tickets -------------------------------------------------------------------
    def create_ticket(self, userid: str, now: int | None = None) -> str:
        return self._assemble("PVE", userid.replace(":", "%3A"), None, _now(now))

    def verify_ticket(self, ticket: str, now: int | None = None) -> TicketInfo | None:
        result = self._verify(ticket, "PVE", None, -CLOCK_SKEW_GRACE, TICKET_LIFETIME, _now(now))
        if result is None or result[0] is None or result[0].startswith("!tfa!"):
            return None
        return TicketInfo(urllib.parse.unquote(result[0]), result[1])

    def create_tfa_ticket(self, userid: str, challenge: str, now: int | None = None) -> str:
        data = "!tfa!" + urllib.parse.quote(challenge, safe="")
        return self._assemble("PVE", data, userid, _now(now))

    def verify_tfa_ticket(self, ticket: str, userid: str, now: int | None = None) -> bool:
        result = self._verify(
            ticket, "PVE", userid, -CLOCK_SKEW_GRACE, TFA_TICKET_LIFETIME, _now(now)
        )
        return result is not None and (result[0] or "").startswith("!tfa!")

    # --- CSRF prevention tokens ------------------------------------------------------------
    def create_csrf_token(self, userid: str, now: int | None = None) -> str:
        timestamp = f"{_now(now):08X}"
        return f"{timestamp}:{self._csrf_signature(timestamp, userid)}"

    def verify_csrf_token(self, token: str, userid: str, now: int | None = None) -> bool:
        timestamp, sep, signature = token.partition(":")
        if not sep or len(timestamp) != 8 or len(signature) != 43:
            return False
        try:
            age = _now(now) - int(timestamp, 16)
        except ValueError:
            return False
        expected = self._csrf_signature(timestamp, userid)
        return (
            hmac.compare_digest(expected, signature) and -CLOCK_SKEW_GRACE < age < TICKET_LIFETIME
        )

    def _csrf_signature(self, timestamp: str, userid: str) -> str:
        digest = hmac.new(self._csrf_secret, f"{timestamp}:{userid}".encode(), hashlib.sha256)
        return base64.b64encode(digest.digest()).decode().rstrip("=")

    # --- VNC / termproxy tickets ---------------------------------------------------------
    def create_vnc_ticket(self, userid: str, path: str, port: int, now: int | None = None) -> str:
        return self._assemble("PVEVNC", None, f"{userid}:{path}:{port}", _now(now))

    def verify_vnc_ticket(
        self, ticket: str, userid: str, path: str, port: int, now: int | None = None
    ) -> bool:
        # qemu-server >= 9.1.7 prefixes the ticket with "<password>:"; the verifier strips it.
        start = ticket.find("PVEVNC:")
        if start < 0:
            return False
        result = self._verify(
            ticket[start:],
            "PVEVNC",
            f"{userid}:{path}:{port}",
            VNC_TICKET_MIN_AGE,
            VNC_TICKET_MAX_AGE,
            _now(now),
        )
        return result is not None


def _now(now: int | None) -> int:
    return int(time.time()) if now is None else now


# --- TOTP (RFC 6238 over RFC 4226), as PVE's TFA checks it ----------------------------------
def totp_code(secret_base32: str, for_time: float, *, step: int = 30, digits: int = 6) -> str:
    padded = secret_base32.upper() + "=" * (-len(secret_base32) % 8)
    key = base64.b32decode(padded)
    counter = struct.pack(">Q", int(for_time // step))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def totp_matches(secret_base32: str, code: str, now: float | None = None) -> bool:
    """Accept the current code and one step either side (clock drift), like PVE does."""
    moment = time.time() if now is None else now
    return any(
        hmac.compare_digest(totp_code(secret_base32, moment + drift * 30), code)
        for drift in (-1, 0, 1)
    )


def generate_vnc_password() -> str:
    """8 printable characters from '!' to '`', as PVE::Ticket::generate_vnc_password."""
    return "".join(chr(secrets.choice(range(0x21, 0x61))) for _ in range(8))
