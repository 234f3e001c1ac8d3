"""Reads for identity."""

from datetime import datetime, timedelta

from django.db.models import QuerySet

from apps.identity.models import Realm


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
