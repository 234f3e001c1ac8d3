"""Which groups a tenant's admins made. PVE group names are global, so ownership is recorded,
never guessed from a name."""

from django.db import models


class TenantGroup(models.Model):
    group = models.OneToOneField(
        "access.Group", on_delete=models.CASCADE, related_name="tenant_link"
    )
    tenant = models.ForeignKey(
        "tenancy.Tenant", on_delete=models.CASCADE, related_name="admin_groups"
    )

    def __str__(self) -> str:
        return f"{self.tenant.slug}: {self.group.name}"
