"""Fixtures for access tests: accounts, and a compiled model that never outlives a test."""

from collections.abc import Callable

import pytest

from apps.access.compiled import bump_shared_version
from apps.access.services import account_add
from apps.identity.models import User


@pytest.fixture(autouse=True)
def _fresh_access_model() -> None:
    """Each test's database starts from scratch, so no model compiled earlier may be reused."""
    bump_shared_version()


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    def make(userid: str, **fields: object) -> User:
        return account_add(userid=userid, **fields)

    return make
