"""Model fields shared by apps."""

from django.db import models

from apps.core.crypto import decrypt_secret, encrypt_secret


class EncryptedTextField(models.TextField):
    """Text stored encrypted (Fernet); reads give the plaintext, the database never sees it."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str:
        return decrypt_secret(value) if value else ""

    def get_prep_value(self, value: str | None) -> str:
        return encrypt_secret(value) if value else ""
