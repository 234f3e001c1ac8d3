"""Operators manage integrations and their keys; the event log and services are read-only."""

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.billing.models import (
    BillingEvent,
    Delivery,
    Integration,
    IntegrationKey,
    OutboundEvent,
    Service,
    UsageRecord,
)
from apps.billing.outbound import deliveries_replay


class IntegrationKeyInline(admin.TabularInline):
    model = IntegrationKey
    extra = 1
    fields = ["label", "secret", "active", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "principal", "default_cluster", "endpoint_url", "created_at"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
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


@admin.register(OutboundEvent)
class OutboundEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "tenant", "created"]
    list_filter = ["type"]
    search_fields = ["event_id", "tenant__slug"]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every event to every endpoint, its attempts and last answer."""

    list_display = [
        "event",
        "integration",
        "state",
        "attempts",
        "last_status_code",
        "last_attempt_at",
        "next_attempt_at",
    ]
    list_filter = ["state", "integration", "event__type"]
    search_fields = ["event__event_id"]
    list_select_related = ["event", "integration"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = ["replay"]

    @admin.action(description=_("Replay: send the selected deliveries again"))
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_replay(deliveries=list(queryset))
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery will be sent again.",
                "%(count)d deliveries will be sent again.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = [
        "hour",
        "tenant",
        "vmid",
        "vcpu_hours",
        "memory_gb_hours",
        "disk_gb_hours",
        "backup_gb_hours",
        "net_in_bytes",
        "net_out_bytes",
    ]
    list_filter = ["tenant"]
    date_hierarchy = "hour"
