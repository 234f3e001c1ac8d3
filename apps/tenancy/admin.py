from django.contrib import admin

from apps.audit.admin import AuditedModelAdmin
from apps.tenancy.models import Plan, Quota, Reservation, Tenant


@admin.register(Tenant)
class TenantAdmin(AuditedModelAdmin):
    list_display = ["name", "slug", "status", "tfa_required", "created_at"]
    list_filter = ["status", "tfa_required"]
    search_fields = ["name", "slug"]


@admin.register(Plan)
class PlanAdmin(AuditedModelAdmin):
    list_display = [
        "name",
        "slug",
        "cores",
        "memory_mb",
        "disk_gb",
        "snapshots",
        "backups",
        "active",
    ]
    list_filter = ["active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Quota)
class QuotaAdmin(AuditedModelAdmin):
    list_display = ["tenant", "guests", "vcpus", "memory_mb", "disk_gb", "snapshots", "backup_gb"]
    search_fields = ["tenant__name", "tenant__slug"]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    list_display = [
        "tenant",
        "operation",
        "guests",
        "vcpus",
        "memory_mb",
        "disk_gb",
        "created_at",
        "released_at",
    ]
    list_filter = ["released_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
