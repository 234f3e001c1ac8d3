"""The login flow: password against the realm, then the second factor when there is one."""

import time
from dataclasses import dataclass

from allauth.usersessions.models import UserSession
from django.contrib.auth import authenticate, login
from django.http import HttpRequest

from apps.audit.services import Actor, audit_record
from apps.identity.models import User
from apps.identity.services.totp import totp_is_active, totp_required

PENDING_SESSION_KEY = "identity_pending_login"
PENDING_LIFETIME_SECONDS = 300
# The backend that restores realm users from their session (OpenID Connect users included).
REALM_BACKEND = "apps.identity.backends.RealmBackend"


@dataclass(frozen=True)
class FirstFactorPassed:
    user: User
    needs_code: bool
    needs_enrolment: bool


def login_first_factor_passed(user: User) -> FirstFactorPassed:
    """What remains after the password (or the OpenID Connect IdP): TOTP, or enrolling it."""
    has_totp = totp_is_active(user)
    return FirstFactorPassed(
        user=user, needs_code=has_totp, needs_enrolment=not has_totp and totp_required(user)
    )


def login_check_password(
    *, request: HttpRequest, userid: str, password: str
) -> FirstFactorPassed | None:
    """None for any failure: the caller says the same thing whether or not the user exists."""
    user = authenticate(request, username=userid, password=password)
    if user is None:
        audit_record(
            action="identity.login_failed",
            actor=Actor.anonymous(userid),
            target=userid,
            request=request,
        )
        return None
    return login_first_factor_passed(user)


def login_hold_pending(*, request: HttpRequest, user: User) -> None:
    """Remember who passed the password step; the second step has a few minutes to finish."""
    request.session.cycle_key()
    request.session[PENDING_SESSION_KEY] = {
        "user_id": user.pk,
        "backend": user.backend,
        "since": time.time(),
    }


def login_pending_user(request: HttpRequest) -> User | None:
    pending = request.session.get(PENDING_SESSION_KEY)
    if not pending or time.time() - pending["since"] > PENDING_LIFETIME_SECONDS:
        return None
    user = (
        User.objects.select_related("realm").filter(pk=pending["user_id"], is_active=True).first()
    )
    if user is not None:
        user.backend = pending["backend"]
    return user


def login_complete(*, request: HttpRequest, user: User, second_factor: str = "") -> None:
    """Log in (Django rotates the session key) and audit it."""
    request.session.pop(PENDING_SESSION_KEY, None)
    login(request, user, backend=user.backend)
    # Listed on the sessions page (allauth) at once, with address and browser.
    UserSession.objects.create_from_request(request)
    audit_record(
        action="identity.login",
        actor=Actor.user(user),
        target=user.username,
        request=request,
        detail={"second_factor": second_factor} if second_factor else {},
    )
