"""Backups: the portal's mirror of PVE's backup volumes (vzdump archives), and the schedules
that make them. PVE owns the volumes; a backup outlives its guest, so the VMID, the tenant and
the guest's sizes at backup time (what a restore to a new guest will take) are kept when the
guest row goes."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pvecore.prune import PruneOptions


class Backup(models.Model):
    cluster = models.ForeignKey(
        "clusters.Cluster", on_delete=models.CASCADE, related_name="backups"
    )
    tenant = models.ForeignKey(
        "tenancy.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="backups"
    )
    guest = models.ForeignKey(
        "guests.Guest", null=True, blank=True, on_delete=models.SET_NULL, related_name="backups"
    )
    plan = models.ForeignKey(
        "tenancy.Plan", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vmid = models.PositiveIntegerField()
    guest_type = models.CharField(max_length=8, blank=True, help_text=_("qemu or lxc"))
    guest_name = models.CharField(max_length=128, blank=True)
    cores = models.PositiveSmallIntegerField(default=0)
    memory_mb = models.PositiveIntegerField(default=0)
    disk_gb = models.PositiveIntegerField(default=0)
    node = models.CharField(max_length=64, blank=True)
    storage = models.CharField(max_length=64)
    # PVE's volume id: `local:backup/vzdump-qemu-100-2026_01_01-00_00_00.vma.zst`.
    volid = models.CharField(max_length=255)
    format = models.CharField(max_length=32, blank=True)
    size = models.PositiveBigIntegerField(default=0)
    ctime = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    protected = models.BooleanField(default=False)
    # When PVE stopped listing it (deleted or pruned outside the portal).
    vanished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-ctime", "volid"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "volid"], name="unique_backup_per_cluster"),
        ]
        indexes = [models.Index(fields=["tenant", "vanished_at"])]

    def __str__(self) -> str:
        return self.volid

    @property
    def acl_path(self) -> str:
        return f"/vms/{self.vmid}"


class BackupSchedule(models.Model):
    """A recurring vzdump of one guest, or of every guest of the tenant, at PVE calendar-event
    times (`mon..fri 02:30`), pruned by PVE's keep rules after each successful run."""

    class Mode(models.TextChoices):
        SNAPSHOT = "snapshot", _("Snapshot")
        SUSPEND = "suspend", _("Suspend")
        STOP = "stop", _("Stop")

    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="backup_schedules"
    )
    guest = models.ForeignKey(
        "guests.Guest",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="backup_schedules",
        help_text=_("None: every guest of the tenant."),
    )
    # Runs act as their owner: its privileges are checked again at every run.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="backup_schedules",
    )
    schedule = models.CharField(max_length=128, help_text=_("PVE calendar event, e.g. 02:30"))
    storage = models.CharField(max_length=64, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.SNAPSHOT)
    keep_last = models.PositiveSmallIntegerField(default=0)
    keep_hourly = models.PositiveSmallIntegerField(default=0)
    keep_daily = models.PositiveSmallIntegerField(default=0)
    keep_weekly = models.PositiveSmallIntegerField(default=0)
    keep_monthly = models.PositiveSmallIntegerField(default=0)
    keep_yearly = models.PositiveSmallIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant", "pk"]

    def __str__(self) -> str:
        target = f"guest {self.guest.vmid}" if self.guest_id else "every guest"
        return f"{self.schedule} ({target} of {self.tenant})"

    @property
    def prune_options(self) -> PruneOptions:
        return PruneOptions(
            keep_last=self.keep_last,
            keep_hourly=self.keep_hourly,
            keep_daily=self.keep_daily,
            keep_weekly=self.keep_weekly,
            keep_monthly=self.keep_monthly,
            keep_yearly=self.keep_yearly,
        )
