"""Telling a tenant's contact about what went wrong while nobody watched (scheduled backups).
Django's email: the console backend in development, SMTP in production (DJANGO_EMAIL_*)."""

import logging

from django.core.mail import send_mail

from apps.tenancy.models import Tenant

logger = logging.getLogger(__name__)


def tenant_notify(*, tenant: Tenant, subject: str, body: str) -> bool:
    """Mail the tenant's contact; False when it has none or the mail could not be sent (the
    failure stays recorded where it happened either way)."""
    if not tenant.contact_email:
        return False
    try:
        send_mail(f"[{tenant.name}] {subject}", body, None, [tenant.contact_email])
    except OSError:
        logger.exception("mail to the contact of tenant %s failed", tenant.slug)
        return False
    return True
