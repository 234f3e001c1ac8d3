"""Signing out a user's other sessions (allauth's user sessions record device, address and
when each was last seen)."""

from allauth.usersessions.adapter import get_adapter
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.http import HttpRequest

from apps.audit.services import Actor, audit_record
from apps.identity.models import User


def sessions_end(*, user: User, request: HttpRequest, session_id: int | None = None) -> int:
    """End one of the user's other sessions, or all of them; the current one stays.
    Returns how many ended."""
    sessions = UserSession.objects.filter(user=user).exclude(
        session_key=request.session.session_key
    )
    if session_id is not None:
        sessions = sessions.filter(pk=session_id)
    ended = list(sessions)
    if not ended:
        return 0
    with transaction.atomic():
        get_adapter().end_sessions(ended)
        audit_record(
            action="identity.sessions_ended",
            actor=Actor.user(user),
            target=user.get_username(),
            request=request,
            detail={"sessions": len(ended)},
        )
    return len(ended)
