"""Demo data for the embedded default: idempotent, so every `make run` can call it."""

from dataclasses import dataclass

from django.db import transaction

from apps.identity.models import User
from apps.identity.services.users import user_create


@dataclass(frozen=True)
class DemoLogin:
    userid: str
    password: str
    role: str
    is_operator: bool = False


# Public on purpose: `make run` prints them; the embedded setup listens on loopback only.
DEMO_LOGINS = (
    DemoLogin(
        userid="operator@pve",
        password="operator-demo",  # noqa: S106
        role="operator (back-office)",
        is_operator=True,
    ),
    DemoLogin(userid="alice@pve", password="alice-demo", role="customer"),  # noqa: S106
)


@transaction.atomic
def seed_demo() -> tuple[DemoLogin, ...]:
    """Create the demo accounts, or reset their passwords, and return their logins."""
    for login in DEMO_LOGINS:
        user = User.objects.filter(username=login.userid).first()
        if user is None:
            user_create(userid=login.userid, password=login.password, is_staff=login.is_operator)
        else:
            user.set_password(login.password)
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
    return DEMO_LOGINS
