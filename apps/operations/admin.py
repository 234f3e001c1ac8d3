"""Back-office for operations: follow them, cancel the ones in flight, retry failed ones."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.operations.models import Operation, Step
from apps.operations.services import operation_cancel, operation_retry


class StepInline(admin.TabularInline):
    model = Step
    fields = ["position", "name", "state", "upid", "exitstatus", "started_at", "finished_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "target", "state", "actor", "tenant", "error"]
    list_filter = ["state", "kind", "cluster", "tenant"]
    search_fields = ["target", "actor", "error", "steps__upid"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id",
        "kind",
        "state",
        "cluster",
        "guest",
        "tenant",
        "target",
        "actor",
        "actor_kind",
        "params",
        "error",
        "attempts",
        "cancel_requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "next_check_at",
    ]
    fields = readonly_fields
    inlines = [StepInline]
    actions = ["cancel", "retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Operation | None = None) -> bool:
        return False

    @admin.action(description=_("Cancel (abort the PVE task, clean up)"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Operation]) -> None:
        for operation in queryset:
            try:
                operation_cancel(operation=operation, actor=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, f"{operation.target}: {error}", messages.WARNING)
            else:
                self.message_user(request, f"{operation.target}: cancel requested")

    @admin.action(description=_("Retry (a new operation; power actions and deletes only)"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Operation]) -> None:
        for operation in queryset:
            try:
                retried = operation_retry(operation=operation, actor=request.user)
            except (ValidationError, PermissionDenied) as error:
                reason = "; ".join(getattr(error, "messages", [str(error)]))
                self.message_user(request, f"{operation.target}: {reason}", messages.WARNING)
            else:
                self.message_user(request, f"{operation.target}: retried as {retried.pk}")
