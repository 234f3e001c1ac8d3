"""Identity services: users, TOTP and realm sync, one module each."""
