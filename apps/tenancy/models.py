"""Tenants: the customer organisations that own guests, users, realms and quota."""

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# A tenant's slug names its PVE pool and group, so it must be a valid PVE pool and group id.
TENANT_SLUG_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-_]{0,63}$"


class Tenant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATED = "terminated", _("Terminated")

    name = models.CharField(max_length=128)
    slug = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(TENANT_SLUG_PATTERN)],
        help_text=_("Names the tenant's PVE pool and group."),
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    tfa_required = models.BooleanField(
        default=False, help_text=_("Every user of this tenant must use TOTP.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
