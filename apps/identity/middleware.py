"""Enforced TOTP for sessions that did not pass through the login page (sign-up, a realm or
tenant that started requiring TOTP after the user logged in)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from apps.identity.services.totp import totp_is_active, totp_required

CHECKED_SESSION_KEY = "identity_totp_checked"


class TotpEnforcementMiddleware:
    """Sends a signed-in user who must have TOTP and has none to enrolment, once per session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.session.get(CHECKED_SESSION_KEY)
            and not request.path.startswith(("/static/", "/healthz", "/readyz"))
        ):
            if not (totp_required(user) and not totp_is_active(user)):
                request.session[CHECKED_SESSION_KEY] = True
            elif request.path not in (reverse("identity:totp-enrol"), reverse("account_logout")):
                return redirect("identity:totp-enrol")
        return self.get_response(request)
