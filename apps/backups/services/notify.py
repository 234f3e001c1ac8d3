"""Telling a tenant's contacts about a backup that went wrong: the tenant's contact and the user
who asked for it. Django's email: the console backend in development, SMTP in production
(DJANGO_EMAIL_*)."""

import logging
from collections.abc import Iterable

from django.core.mail import send_mail

from apps.audit.models import AuditEvent
from apps.identity.models import User
from apps.operations.models import Operation
from apps.tenancy.models import Tenant

logger = logging.getLogger(__name__)


def tenant_notify(*, tenant: Tenant, subject: str, body: str, also: Iterable[str] = ()) -> bool:
    """Mail the tenant's contact and the addresses in `also` (each once, empty ones left out);
    False when there is nobody to mail or the mail could not be sent (the failure stays
    recorded where it happened either way)."""
    recipients = list(dict.fromkeys(a for a in (tenant.contact_email, *also) if a))
    if not recipients:
        return False
    try:
        send_mail(f"[{tenant.name}] {subject}", body, None, recipients)
    except OSError:
        logger.exception("mail to the contacts of tenant %s failed", tenant.slug)
        return False
    return True


def requester_email(operation: Operation) -> str:
    """The email of the user who asked for the operation, directly or through one of their API
    tokens (`user@realm!token`); empty for the portal itself, a billing system or a user
    without one."""
    if operation.actor_kind not in (AuditEvent.ActorKind.USER, AuditEvent.ActorKind.TOKEN):
        return ""
    userid = operation.actor.split("!", 1)[0]
    return User.objects.filter(username=userid).values_list("email", flat=True).first() or ""
