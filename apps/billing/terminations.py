"""Deleting the guests of terminated services once their grace period is over, and their
backups too where the policy says so."""

import datetime
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.services import audit_record
from apps.backups.models import Backup
from apps.backups.services import backup_delete
from apps.billing.contract import billing_actor
from apps.billing.models import Service
from apps.guests.services import guest_delete
from apps.operations.models import Operation

logger = logging.getLogger(__name__)


def terminations_due(*, now: datetime.datetime | None = None) -> list[Operation]:
    """Delete the guest of every service whose termination is due. Its backups stay (PVE keeps
    a destroyed guest's archives) unless BILLING_TERMINATION_BACKUPS is `delete`; protected
    ones stay either way. A guest that is busy is left for the next run."""
    now = now or timezone.now()
    started: list[Operation] = []
    due = Service.objects.filter(
        state=Service.State.TERMINATING, terminate_at__lte=now
    ).values_list("pk", flat=True)
    for pk in due:
        with transaction.atomic():
            service = (
                Service.objects.select_for_update(of=("self",))
                .select_related("integration__principal", "guest")
                .filter(pk=pk, state=Service.State.TERMINATING, terminate_at__lte=now)
                .first()
            )
            if service is None:  # renewed or handled by a concurrent run meanwhile
                continue
            if service.guest is not None:
                try:
                    with transaction.atomic():
                        operation = guest_delete(
                            guest=service.guest, actor=service.integration.principal
                        )
                except ValidationError as error:
                    logger.warning("termination of %s postponed: %s", service, error.messages)
                    continue
                service.termination = operation
                started.append(operation)
                if settings.BILLING_TERMINATION_BACKUPS == "delete":
                    started += _backups_delete(service)
            service.state = Service.State.TERMINATED
            service.save(update_fields=["state", "termination"])
            audit_record(
                action="billing.service_terminated",
                actor=billing_actor(service.integration),
                target=f"{service.integration.name}:{service.external_id}",
                detail={"vmid": service.vmid},
            )
    return started


def _backups_delete(service: Service) -> list[Operation]:
    backups = Backup.objects.filter(
        cluster=service.guest.cluster,
        vmid=service.guest.vmid,
        protected=False,
        vanished_at__isnull=True,
    )
    return [backup_delete(backup=backup, actor=service.integration.principal) for backup in backups]
