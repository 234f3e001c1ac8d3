"""Billing: the integrations that drive the portal, the events they send, and the services
(one guest each) and customers (tenants) they know by their own ids."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField


class Integration(models.Model):
    """A billing system (WHMCS, Blesta, Stripe, ...) allowed to send webhooks."""

    name = models.SlugField(max_length=64, unique=True)
    active = models.BooleanField(default=True)
    principal = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="billing_integrations",
        limit_choices_to={"is_superuser": True},
        help_text=_(
            "The operator account the integration acts as: it creates tenants and acts on "
            "suspended tenants' guests, which only operators may do."
        ),
    )
    default_cluster = models.ForeignKey(
        "clusters.Cluster",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Where new services go when an event names no region."),
    )
    endpoint_url = models.URLField(
        max_length=500,
        blank=True,
        help_text=_(
            "Where the portal delivers its own events (signed with the newest active key); "
            "blank: none are sent."
        ),
    )
    stripe_signing_secret = EncryptedTextField(
        blank=True,
        help_text=_("The signing secret (whsec_...) of the Stripe webhook endpoint, if any."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IntegrationKey(models.Model):
    """A shared signing key. An integration may hold several, so a key can be rotated: add
    the new one, move the billing system to it, then deactivate the old one."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="keys")
    label = models.CharField(max_length=64, blank=True)
    secret = EncryptedTextField()
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["integration", "-created_at"]

    def __str__(self) -> str:
        return f"{self.integration} key {self.label or self.pk}"


class Customer(models.Model):
    """The billing system's customer id of a tenant."""

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="customers")
    external_id = models.CharField(max_length=128)
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.PROTECT, related_name="billing_customers"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="unique_customer_per_integration"
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration}:{self.external_id}"


class Service(models.Model):
    """The billing system's id of one guest."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        TERMINATING = "terminating", _("Terminating")
        TERMINATED = "terminated", _("Terminated")

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="services")
    external_id = models.CharField(max_length=128)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="services")
    guest = models.ForeignKey(
        "guests.Guest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="billing_services",
    )
    # The guest's VMID stays on record after the guest is deleted.
    vmid = models.PositiveIntegerField(null=True, blank=True)
    plan = models.ForeignKey("tenancy.Plan", on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    paid_until = models.DateField(null=True, blank=True)
    terminate_at = models.DateTimeField(null=True, blank=True, db_index=True)
    termination = models.ForeignKey(
        "operations.Operation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["integration", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "external_id"], name="unique_service_per_integration"
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration}:{self.external_id}"


class BillingEvent(models.Model):
    """An inbound event, stored before it is acted on; its answer is stored with it, so a
    repeated delivery of the same id gets the same answer and acts no more."""

    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="events")
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=64)
    # The sender's `created` time; the portal's own is received_at.
    created = models.DateTimeField(null=True, blank=True)
    # Passwords are replaced by "***" before the payload is stored.
    payload = models.JSONField(default=dict)
    body_sha256 = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    answer_status = models.PositiveSmallIntegerField(null=True, blank=True)
    answer = models.JSONField(default=dict, blank=True)
    service = models.ForeignKey(
        Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "event_id"], name="unique_event_per_integration"
            )
        ]

    def __str__(self) -> str:
        return f"{self.integration}:{self.event_id} {self.type}"


class OutboundEvent(models.Model):
    """An event the portal tells integrations about, written in the transaction of the change
    it reports (an outbox); its deliveries carry it out after commit."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64, db_index=True)
    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict)
    created = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"


class Delivery(models.Model):
    """One event on its way to one integration's endpoint, retried with back-off until the
    endpoint answers 2xx or the attempts run out."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(OutboundEvent, on_delete=models.CASCADE, related_name="deliveries")
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="deliveries"
    )
    url = models.URLField(max_length=500)
    # The exact bytes sent, the same on every attempt (only the signature's time changes).
    body = models.TextField()
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "integration"], name="unique_delivery_per_integration"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event.event_id} to {self.integration} ({self.state})"


class GuestState(models.Model):
    """What a guest was between valid_from and valid_to (open: still is): its sizes and whether
    it ran. Usage is computed from these intervals, so computing an hour twice gives the same
    figures. Keyed by VMID: the history outlives the guest row."""

    vmid = models.PositiveIntegerField()
    guest = models.ForeignKey(
        "guests.Guest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    cores = models.PositiveIntegerField()
    memory_mb = models.PositiveBigIntegerField()
    disk_gb = models.PositiveBigIntegerField()
    running = models.BooleanField()
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["vmid", "valid_from"]
        indexes = [models.Index(fields=["valid_from", "valid_to"])]
        constraints = [
            models.UniqueConstraint(
                fields=["vmid"],
                condition=models.Q(valid_to__isnull=True),
                name="one_open_guest_state_per_vmid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.vmid} from {self.valid_from:%Y-%m-%d %H:%M}"


class UsageRecord(models.Model):
    """One tenant's use of one guest (by VMID) in one hour. Quantities are in unit-hours:
    2 vCPUs for 30 minutes are 1 vCPU-hour. Network bytes are None when PVE's graphs no longer
    held that hour when it was computed."""

    tenant = models.ForeignKey("tenancy.Tenant", on_delete=models.CASCADE, related_name="+")
    vmid = models.PositiveIntegerField()
    hour = models.DateTimeField(help_text=_("The hour's start (UTC)."))
    vcpu_hours = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    memory_gb_hours = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    disk_gb_hours = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    backup_gb_hours = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    net_in_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    net_out_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["hour", "tenant", "vmid"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "vmid", "hour"], name="unique_usage_per_tenant_guest_hour"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.vmid} {self.hour:%Y-%m-%d %H}h"


class UsageHour(models.Model):
    """An hour whose records are computed and whose usage events were emitted."""

    hour = models.DateTimeField(unique=True)
    closed_at = models.DateTimeField()

    class Meta:
        ordering = ["-hour"]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h"
