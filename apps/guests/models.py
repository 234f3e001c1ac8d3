"""Guests: VMs (qemu) and containers (lxc). PVE owns their runtime state; the portal owns
tenancy and ownership. The VMID is unique across every cluster the portal manages."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The status of a guest whose create operation is still running (PVE may not know it yet).
CREATING = "creating"


class Guest(models.Model):
    class Type(models.TextChoices):
        QEMU = "qemu", _("Virtual machine")
        LXC = "lxc", _("Container")

    vmid = models.PositiveIntegerField(unique=True)
    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.PROTECT, related_name="guests")
    node = models.CharField(max_length=64)
    type = models.CharField(max_length=8, choices=Type.choices)
    name = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=16, blank=True, help_text=_("As PVE last reported."))
    template = models.BooleanField(default=False)
    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.PROTECT, related_name="guests"
    )
    plan = models.ForeignKey(
        "tenancy.Plan",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guests",
        help_text=_("The plan it was made or last resized from; adopted guests have none."),
    )
    pool = models.CharField(max_length=64, blank=True)
    tags = models.CharField(max_length=255, blank=True)
    notes = models.TextField(blank=True, help_text=_("PVE's description of the guest."))
    # Sizes as PVE reports them: what the guest counts against its tenant's quota.
    cores = models.PositiveIntegerField(default=0)
    memory_mb = models.PositiveBigIntegerField(default=0)
    disk_gb = models.PositiveBigIntegerField(default=0)
    lock = models.CharField(max_length=32, blank=True)
    # Set by billing when the guest's service is suspended while its tenant stays active.
    suspended = models.BooleanField(
        default=False,
        help_text=_("Stopped and read-only for its tenant's users until unsuspended."),
    )
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Set when PVE no longer lists the guest: flagged for an operator, never dropped silently.
    vanished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["vmid"]
        indexes = [models.Index(fields=["tenant", "vmid"])]

    def __str__(self) -> str:
        return f"{self.vmid} ({self.name})" if self.name else str(self.vmid)

    @property
    def acl_path(self) -> str:
        return f"/vms/{self.vmid}"


class Image(models.Model):
    """An ISO image or container template on a storage: what guests can be installed from.
    Mirrored from the storages' content; `node` is empty on shared storage."""

    class Content(models.TextChoices):
        ISO = "iso", _("ISO image")
        VZTMPL = "vztmpl", _("Container template")

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.CASCADE, related_name="images")
    node = models.CharField(max_length=64, blank=True)
    storage = models.CharField(max_length=64)
    volid = models.CharField(max_length=255)
    content = models.CharField(max_length=8, choices=Content.choices)
    size = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["content", "volid", "node"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "node", "volid"], name="unique_image_per_node"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.volid}@{self.node}" if self.node else self.volid

    @property
    def file_name(self) -> str:
        """'local:iso/debian-12.iso' -> 'debian-12.iso': what plan patterns are matched against."""
        return self.volid.rsplit("/", 1)[-1].split(":", 1)[-1]


class Snapshot(models.Model):
    """A guest's snapshot as PVE last reported it: the mirror its tenant's `snapshots` quota and
    its plan's per-guest limit count. PVE owns the truth; listing a guest's snapshots and every
    snapshot operation bring the mirror up to date."""

    guest = models.ForeignKey(Guest, on_delete=models.CASCADE, related_name="snapshots")
    name = models.CharField(max_length=40)
    description = models.TextField(blank=True)
    parent = models.CharField(max_length=40, blank=True)
    vmstate = models.BooleanField(default=False, help_text=_("Includes the VM's RAM state."))
    snaptime = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["guest", "snaptime", "name"]
        constraints = [
            models.UniqueConstraint(fields=["guest", "name"], name="unique_snapshot_per_guest"),
        ]

    def __str__(self) -> str:
        return f"{self.guest.vmid}@{self.name}"
