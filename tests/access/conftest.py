"""Fixtures for access tests: accounts, and a compiled model that never outlives a test."""

from collections.abc import Callable

import pytest

from apps.access.services import account_add
from apps.identity.models import Realm, User


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    # Transactional tests flush the built-in realms the migrations made.
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    Realm.objects.get_or_create(name="pam", defaults={"type": "pam"})

    def make(userid: str, **fields: object) -> User:
        return account_add(userid=userid, **fields)

    return make
