"""Back-office for guests and images: read-only mirrors of PVE, searchable."""

from django.contrib import admin
from django.http import HttpRequest

from apps.guests.models import Guest, Image


@admin.register(Guest)
class GuestAdmin(admin.ModelAdmin):
    list_display = [
        "vmid",
        "name",
        "type",
        "status",
        "cluster",
        "node",
        "tenant",
        "pool",
        "vanished_at",
    ]
    list_filter = ["cluster", "type", "status", "template", "tenant"]
    search_fields = ["=vmid", "name", "tags", "tenant__slug"]
    readonly_fields = [
        "vmid",
        "cluster",
        "node",
        "type",
        "name",
        "status",
        "template",
        "tenant",
        "pool",
        "tags",
        "lock",
        "cores",
        "memory_mb",
        "disk_gb",
        "first_seen_at",
        "last_seen_at",
        "vanished_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["volid", "content", "cluster", "node", "size"]
    list_filter = ["cluster", "content"]
    search_fields = ["volid"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Image | None = None) -> bool:
        return False
