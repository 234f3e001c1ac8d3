"""Console tickets: the portal's one-time, seconds-lived tokens for opening a console.

The browser gets the token once, in the console page; the database keeps only its SHA-256,
bound to the user, to the session that asked for it (also hashed) and to the guest or node.
A terminal ticket of a VM is for its serial port `serial` (PVE's `qemu/{vmid}/termproxy`).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ConsoleTicket(models.Model):
    class Protocol(models.TextChoices):
        VNC = "vnc", _("VNC (noVNC)")
        TERM = "term", _("Terminal (xterm.js)")

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_tickets"
    )
    session_key_hash = models.CharField(max_length=64)
    cluster = models.ForeignKey(
        "clusters.Cluster", on_delete=models.CASCADE, related_name="console_tickets"
    )
    # A guest's console, or (no guest) the shell of `node`.
    guest = models.ForeignKey(
        "guests.Guest",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="console_tickets",
    )
    node = models.CharField(max_length=64, blank=True, help_text=_("Node of a node shell."))
    serial = models.CharField(
        max_length=8, blank=True, help_text=_("Serial port of a VM's serial terminal.")
    )
    protocol = models.CharField(max_length=8, choices=Protocol.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.protocol} console of {self.acl_path} for {self.user}"

    @property
    def acl_path(self) -> str:
        """Where the privilege is checked: /vms/{vmid}, or /nodes/{node} for a node shell."""
        return self.guest.acl_path if self.guest_id else f"/nodes/{self.node}"

    @property
    def privilege(self) -> str:
        return "VM.Console" if self.guest_id else "Sys.Console"
