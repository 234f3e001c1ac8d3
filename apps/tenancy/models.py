"""Tenants: the customer organisations that own guests, users, realms and quota."""

from fnmatch import fnmatchcase

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
    contact_email = models.EmailField(
        blank=True, help_text=_("Told when a backup or another unattended job fails.")
    )
    backup_storage = models.CharField(
        max_length=64,
        blank=True,
        help_text=_(
            "Where the tenant's backups go; blank: the plan's, else the first backup storage "
            "of the guest's node. Set it with tenant_backup_storage_set, which also grants the "
            "tenant's group PVEDatastoreUser on it."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    """A sellable guest size: what one guest made from this plan gets."""

    name = models.CharField(max_length=128)
    slug = models.SlugField(max_length=64, unique=True)
    cores = models.PositiveSmallIntegerField()
    memory_mb = models.PositiveIntegerField()
    disk_gb = models.PositiveIntegerField()
    snapshots = models.PositiveSmallIntegerField(default=0, help_text=_("Per guest."))
    backups = models.PositiveSmallIntegerField(
        default=0, help_text=_("Per guest; 0 allows none, except on an operator's request.")
    )
    backup_storage = models.CharField(
        max_length=64, blank=True, help_text=_("Where backups of this plan's guests go.")
    )
    clusters = models.ManyToManyField(
        "clusters.Cluster",
        blank=True,
        related_name="plans",
        help_text=_("Where guests of this plan may live; none chosen means every cluster."),
    )
    # Patterns, not rows: templates and images are re-synced from PVE and may come and go.
    templates = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            "Shell-style patterns matched against a template's name or an image's file name "
            "(e.g. 'debian-*'); an empty list allows every template."
        ),
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["cores", "memory_mb", "name"]

    def __str__(self) -> str:
        return self.name

    def offers_template(self, name: str) -> bool:
        return not self.templates or any(fnmatchcase(name, p) for p in self.templates)


class Quota(models.Model):
    """A tenant's limits. Usage is its live guests plus the reservations of operations in flight."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="quota")
    guests = models.PositiveIntegerField(default=0)
    vcpus = models.PositiveIntegerField(default=0)
    memory_mb = models.PositiveBigIntegerField(default=0)
    disk_gb = models.PositiveBigIntegerField(default=0)
    snapshots = models.PositiveIntegerField(default=0)
    backup_gb = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"quota of {self.tenant}"


class Reservation(models.Model):
    """Quota held by an operation in flight; released when the operation ends."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="reservations")
    operation = models.OneToOneField(
        "operations.Operation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reservation",
    )
    guests = models.PositiveIntegerField(default=0)
    vcpus = models.PositiveIntegerField(default=0)
    memory_mb = models.PositiveBigIntegerField(default=0)
    disk_gb = models.PositiveBigIntegerField(default=0)
    snapshots = models.PositiveIntegerField(default=0)
    backup_gb = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "released_at"])]

    def __str__(self) -> str:
        return f"reservation {self.pk} of {self.tenant}"
