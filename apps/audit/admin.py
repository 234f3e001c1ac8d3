from django import forms
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_record


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "actor_kind", "action", "target", "source_ip"]
    list_filter = ["actor_kind", "action"]
    search_fields = ["actor", "target", "action", "request_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class AuditedModelAdmin(admin.ModelAdmin):
    """Back-office edits write audit events like services do: `<app>.<model>_<verb>`."""

    def audit(self, request: HttpRequest, obj: Model, verb: str) -> None:
        audit_record(
            action=f"{obj._meta.app_label}.{obj._meta.model_name}_{verb}",
            actor=Actor.user(request.user),
            target=str(obj),
            request=request,
            detail={"via": "admin"},
        )

    def save_model(self, request: HttpRequest, obj: Model, form: forms.Form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self.audit(request, obj, "modified" if change else "created")

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        self.audit(request, obj, "deleted")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            self.audit(request, obj, "deleted")
        super().delete_queryset(request, queryset)
