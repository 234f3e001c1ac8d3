"""Reads for identity."""

from datetime import datetime, timedelta

from allauth.usersessions.models import UserSession
from django.db.models import QuerySet
from django.urls import reverse

from apps.identity.models import Realm, User


def realms_due_for_sync(*, now: datetime) -> list[Realm]:
    """Enabled directory realms whose sync interval has passed since their last sync."""
    candidates: QuerySet[Realm] = Realm.objects.filter(
        enabled=True, type__in=[Realm.Type.LDAP, Realm.Type.AD], sync_interval_minutes__gt=0
    )
    return [
        realm
        for realm in candidates
        if realm.last_synced_at is None
        or realm.last_synced_at + timedelta(minutes=realm.sync_interval_minutes) <= now
    ]


def session_list(*, user: User) -> list[UserSession]:
    """The user's live sessions, most recently seen first (ended ones are purged on the way)."""
    sessions = UserSession.objects.purge_and_list(user)
    return sorted(sessions, key=lambda session: session.last_seen_at, reverse=True)


def openid_login_realms() -> list[tuple[Realm, str]]:
    """Enabled OpenID Connect realms with the URL their "Sign in with" button posts to."""
    realms = Realm.objects.filter(type=Realm.Type.OPENID, enabled=True)
    return [
        (realm, reverse("openid_connect_login", kwargs={"provider_id": realm.name}))
        for realm in realms
    ]
