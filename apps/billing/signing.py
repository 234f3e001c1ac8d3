"""HMAC-SHA256 signatures of billing messages, inbound and outbound alike.

The header reads `t=<unix time>,v1=<hex>`, the HMAC of `"<t>.<content>"` under a shared key
(for a webhook the content is its raw body). A sender in the middle of a key rotation may put
several `v1=` values in one header; one valid value is enough.
"""

import hashlib
import hmac
import time
from collections.abc import Iterable

SIGNATURE_HEADER = "Portal-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The signature is missing, malformed, too old or made with none of the keys."""


def signature(*, key: str, timestamp: int, content: bytes) -> str:
    message = str(timestamp).encode() + b"." + content
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def sign(*, key: str, content: bytes, timestamp: int | None = None) -> str:
    """The header value that `verify` accepts for `content`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(key=key, timestamp=timestamp, content=content)}"


def _parse(header: str) -> tuple[int, list[str]]:
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _sep, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise SignatureError("malformed signature header: expected t=<unix time>,v1=<hex>")
    return timestamp, candidates


def verify(
    *,
    header: str,
    content: bytes,
    keys: Iterable[str],
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """The key that signed `content`, or SignatureError. A timestamp further than `tolerance`
    seconds from now (either way) is refused, so a captured message cannot be replayed later."""
    if not header:
        raise SignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp, candidates = _parse(header)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"signature timestamp is more than {tolerance} s from now")
    for key in keys:
        expected = signature(key=key, timestamp=timestamp, content=content)
        # Every candidate is compared in constant time; none short-circuits on a prefix.
        if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
            return key
    raise SignatureError("signature does not match any key of this integration")
