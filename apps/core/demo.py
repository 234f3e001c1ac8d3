"""Demo data for the embedded default: idempotent, so every `make run` can call it."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    role: str


# Public on purpose: `make run` prints them; the embedded setup listens on loopback only.
DEMO_LOGINS = (
    DemoLogin(username="operator", password="operator-demo", role="operator (back-office)"),  # noqa: S106
    DemoLogin(username="alice", password="alice-demo", role="customer"),  # noqa: S106
)


@transaction.atomic
def seed_demo() -> tuple[DemoLogin, ...]:
    """Create or reset the demo accounts and return their logins."""
    user_model = get_user_model()
    for login in DEMO_LOGINS:
        is_operator = login.username == "operator"
        user, _created = user_model.objects.get_or_create(username=login.username)
        user.is_staff = is_operator
        user.is_superuser = is_operator
        user.is_active = True
        user.set_password(login.password)
        user.save()
    return DEMO_LOGINS
