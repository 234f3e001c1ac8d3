"""Backups: the portal's mirror of PVE's backup volumes (vzdump archives). PVE owns them; a
backup outlives its guest, so the VMID is kept when the guest row goes."""

from django.db import models


class Backup(models.Model):
    cluster = models.ForeignKey(
        "clusters.Cluster", on_delete=models.CASCADE, related_name="backups"
    )
    guest = models.ForeignKey(
        "guests.Guest", null=True, blank=True, on_delete=models.SET_NULL, related_name="backups"
    )
    vmid = models.PositiveIntegerField()
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

    def __str__(self) -> str:
        return self.volid
