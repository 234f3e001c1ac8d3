"""Mirrors of PVE clusters, nodes and storages. PVE owns their state; sync keeps it fresh."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField

VMID_MIN, VMID_MAX = 100, 999_999_999


class Cluster(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    api_addresses = models.JSONField(
        help_text=_("host or host:port of the cluster's nodes, tried in order (failover).")
    )
    token_id = models.CharField(max_length=128, help_text=_("user@realm!name"))
    token_secret = EncryptedTextField()
    fingerprint = models.CharField(
        max_length=95, blank=True, help_text=_("SHA-256 of the API certificate (pinned).")
    )
    ca_bundle = models.TextField(blank=True, help_text=_("PEM CA bundle, when not pinning."))
    # The portal allocates VMIDs unique across all clusters, each from its own range.
    vmid_range_start = models.PositiveIntegerField(
        default=100, validators=[MinValueValidator(VMID_MIN), MaxValueValidator(VMID_MAX)]
    )
    vmid_range_end = models.PositiveIntegerField(
        default=999_999, validators=[MinValueValidator(VMID_MIN), MaxValueValidator(VMID_MAX)]
    )
    pve_cluster_name = models.CharField(max_length=64, blank=True)
    pve_version = models.CharField(max_length=32, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(vmid_range_start__lte=models.F("vmid_range_end")),
                name="cluster_vmid_range_ordered",
            ),
            # The portal never talks to a cluster without checking its certificate.
            models.CheckConstraint(
                condition=~models.Q(fingerprint="") | ~models.Q(ca_bundle=""),
                name="cluster_tls_pinned_or_ca",
                violation_error_message="pin the certificate's SHA-256 fingerprint or give a CA "
                "bundle",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Node(models.Model):
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="nodes")
    name = models.CharField(max_length=64)
    online = models.BooleanField(default=False)
    # Portal-owned: placement skips nodes in maintenance.
    maintenance = models.BooleanField(default=False)
    cpu_usage = models.FloatField(default=0)
    cpu_count = models.PositiveIntegerField(default=0)
    memory_used = models.BigIntegerField(default=0)
    memory_total = models.BigIntegerField(default=0)
    vanished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cluster", "name"]
        constraints = [
            models.UniqueConstraint(fields=["cluster", "name"], name="unique_node_per_cluster"),
        ]

    def __str__(self) -> str:
        return f"{self.cluster}/{self.name}"

    @property
    def memory_free(self) -> int:
        return max(self.memory_total - self.memory_used, 0)


class Storage(models.Model):
    """One storage as one node sees it (PVE lists shared storages once per node)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="storages")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="storages")
    storage = models.CharField(max_length=64)
    type = models.CharField(max_length=32)
    content = models.JSONField(default=list)
    shared = models.BooleanField(default=False)
    available = models.BooleanField(default=False)
    used = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    vanished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["cluster", "storage", "node"]
        constraints = [
            models.UniqueConstraint(fields=["node", "storage"], name="unique_storage_per_node"),
        ]

    def __str__(self) -> str:
        return f"{self.storage}@{self.node}"
