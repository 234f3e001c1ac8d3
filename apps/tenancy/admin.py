from django.contrib import admin

from apps.tenancy.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "status", "tfa_required", "created_at"]
    list_filter = ["status", "tfa_required"]
    search_fields = ["name", "slug"]
