"""Keys for secrets encrypted at rest."""

import base64
import hashlib


def development_fernet_key(secret_key: str) -> str:
    """A Fernet key derived from SECRET_KEY, for the embedded and test setups only."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()).decode()
