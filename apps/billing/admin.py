"""Operators manage integrations and their keys; the event log and services are read-only."""

from django.contrib import admin
from django.http import HttpRequest

from apps.billing.models import BillingEvent, Integration, IntegrationKey, Service


class IntegrationKeyInline(admin.TabularInline):
    model = IntegrationKey
    extra = 1
    fields = ["label", "secret", "active", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "principal", "default_cluster", "created_at"]
    inlines = [IntegrationKeyInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(BillingEvent)
class BillingEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "integration", "type", "answer_status", "received_at"]
    list_filter = ["integration", "type", "answer_status"]
    search_fields = ["event_id"]


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "integration", "customer", "vmid", "plan", "state"]
    list_filter = ["integration", "state"]
    search_fields = ["external_id", "customer__external_id"]
