"""Fixtures for access tests: accounts, and a compiled model that never outlives a test."""

from collections.abc import Callable

import pytest

from apps.access.services import account_add
from apps.identity.models import User


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(userid: str, **fields: object) -> User:
        return account_add(userid=userid, **fields)

    return make
