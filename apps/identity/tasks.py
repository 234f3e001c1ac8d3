"""Scheduled realm sync: beat finds due realms, one task per realm does the work."""

import logging

from celery import shared_task
from django.utils import timezone

from apps.identity.realms.directory import DirectoryError

logger = logging.getLogger(__name__)


@shared_task(name="identity.sync_due_realms")
def sync_due_realms() -> list[int]:
    from apps.identity.selectors import realms_due_for_sync

    due = [realm.pk for realm in realms_due_for_sync(now=timezone.now())]
    for realm_id in due:
        sync_realm.delay(realm_id)
    return due


@shared_task(
    name="identity.sync_realm",
    autoretry_for=(DirectoryError,),
    retry_backoff=60,
    max_retries=3,
)
def sync_realm(realm_id: int) -> dict[str, object]:
    from apps.identity.models import Realm
    from apps.identity.services.sync import realm_sync_with_defaults

    realm = Realm.objects.filter(pk=realm_id).first()
    if realm is None:  # removed since it was queued
        return {"error": "realm removed"}
    report = realm_sync_with_defaults(realm=realm)
    logger.info("realm %s synced: %s", realm.name, report.as_dict())
    return report.as_dict()
