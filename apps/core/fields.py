"""Model fields shared by apps."""

from django.db import models

from apps.core.crypto import SecretDecryptionError, decrypt_secret, encrypt_secret


class EncryptedTextField(models.TextField):
    """Text stored encrypted (Fernet); reads give the plaintext, the database never sees it.
    Serialized (dumpdata) encrypted too, so a dump holds no secret in clear; loaddata decrypts."""

    def from_db_value(self, value: str | None, expression: object, connection: object) -> str:
        return decrypt_secret(value) if value else ""

    def get_prep_value(self, value: str | None) -> str:
        return encrypt_secret(value) if value else ""

    def value_to_string(self, obj: models.Model) -> str:
        value = self.value_from_object(obj)
        return encrypt_secret(value) if value else ""

    def to_python(self, value: object) -> object:
        # A serialized value is a token of the configured keys; anything else is plaintext.
        if isinstance(value, str) and value:
            try:
                return decrypt_secret(value)
            except SecretDecryptionError:
                return value
        return super().to_python(value)
