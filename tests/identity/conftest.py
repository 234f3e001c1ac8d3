import pytest
from django.core.cache import cache

from apps.identity.services.users import user_create


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Login throttling and TOTP state live in the cache on Redis runs: start each test clean."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db):
    return user_create(userid="alice@pve", password="alice-password-1", email="alice@example.org")


def login(client, *, username, password, realm="pve", follow=False):
    return client.post(
        "/login/", {"username": username, "realm": realm, "password": password}, follow=follow
    )


# A real OpenID Connect provider (oidc-provider on node) for the OIDC realm tests.
from tests.services.oidc.provider import oidc_provider_fixture  # noqa: E402, F401
