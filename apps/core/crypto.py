"""Secrets at rest (PVE API tokens, realm bind passwords, TOTP seeds), encrypted with Fernet.

Several keys may be configured: the first encrypts, all decrypt, so keys can be rotated.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with any configured key."""


@cache
def _cipher() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.PORTAL_SECRETS_KEYS])


def encrypt_secret(plaintext: str) -> str:
    return _cipher().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _cipher().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretDecryptionError(
            "stored secret does not decrypt with PORTAL_SECRETS_KEYS"
        ) from error
