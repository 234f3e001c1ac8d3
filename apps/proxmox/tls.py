"""TLS to PVE: a pinned SHA-256 fingerprint, or a CA bundle, never "verify nothing"."""

import hashlib
import tempfile
from pathlib import Path

from django.conf import settings
from requests.adapters import HTTPAdapter


def normalize_fingerprint(fingerprint: str) -> str:
    """`AB:CD:...` or `abcd...` -> lower-case hex without separators; ValueError if not SHA-256."""
    digits = fingerprint.replace(":", "").replace(" ", "").strip().lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise ValueError("a SHA-256 fingerprint is 64 hex digits (colons allowed)")
    return digits


class FingerprintAdapter(HTTPAdapter):
    """Accepts exactly the certificate with this SHA-256 fingerprint (urllib3 checks it)."""

    def __init__(self, fingerprint: str, **kwargs: object) -> None:
        self.fingerprint = normalize_fingerprint(fingerprint)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        kwargs["assert_fingerprint"] = self.fingerprint
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: object):
        """Through an HTTPS proxy (HTTPS_PROXY in the environment) the pin holds too."""
        proxy_kwargs["assert_fingerprint"] = self.fingerprint
        return super().proxy_manager_for(proxy, **proxy_kwargs)


def ca_bundle_file(pem: str) -> str:
    """requests wants a path: keep each CA bundle once, named by its content hash."""
    digest = hashlib.sha256(pem.encode()).hexdigest()
    path = Path(settings.DATA_DIR) / "pve-ca" / f"{digest}.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: several processes may write the same bundle at once.
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as temporary:
            temporary.write(pem)
        Path(temporary.name).replace(path)
    return str(path)
