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
