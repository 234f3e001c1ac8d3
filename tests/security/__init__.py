"""The security suite: tenant isolation over every API route, CSRF over every route, the API
fuzzed against its schema, security headers and the CSP (also in Chromium), secrets in database
dumps, TOTP replay across logins.

Covered where the feature lives, and not repeated here: login throttling per account and per
address (tests/identity/test_login.py), TOTP codes single-use and lockout (tests/identity/
test_totp.py), billing webhook signatures, replay and reused ids (tests/billing/
test_signatures.py, test_stripe.py), console ticket reuse, expiry and origin (tests/consoles/
test_consumer.py), `check --deploy` under production settings (tests/core/test_settings.py);
known vulnerabilities in the locked requirements: scripts/audit-dependencies.sh in .ci/run."""
