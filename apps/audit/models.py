"""The audit log: who did what to which object, when and from where."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    class ActorKind(models.TextChoices):
        USER = "user", _("User")
        TOKEN = "token", _("API token")
        BILLING = "billing", _("Billing system")
        SYSTEM = "system", _("System")
        ANONYMOUS = "anonymous", _("Anonymous")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.CharField(max_length=160, help_text=_("User id, token id or system name."))
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    action = models.CharField(max_length=64, db_index=True)
    target = models.CharField(max_length=255, blank=True, help_text=_("e.g. /vms/100, alice@pve"))
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["actor", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target}"
