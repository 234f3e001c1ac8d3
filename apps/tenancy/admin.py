from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.audit.admin import AuditedModelAdmin
from apps.audit.services import Actor
from apps.tenancy.models import Plan, Quota, Reservation, Tenant


class TenantForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ["name", "slug", "tfa_required", "contact_email", "backup_storage"]

    def clean_backup_storage(self) -> str:
        from apps.backups.services.storage import check_backup_storage  # backups build on tenancy

        storage = self.cleaned_data["backup_storage"]
        try:
            check_backup_storage(storage)
        except ValidationError as error:
            raise ValidationError(error.message_dict["backup_storage"]) from error
        return storage


@admin.register(Tenant)
class TenantAdmin(AuditedModelAdmin):
    list_display = ["name", "slug", "status", "tfa_required", "created_at"]
    list_filter = ["status", "tfa_required"]
    search_fields = ["name", "slug"]
    # Status changes go through the actions: suspending also stops the tenant's guests.
    readonly_fields = ["status"]
    actions = ["suspend", "unsuspend"]
    form = TenantForm

    def save_model(self, request: HttpRequest, obj: Tenant, form: forms.Form, change: bool) -> None:
        """A new backup storage goes through its service, which grants the tenant's group
        space there (PVE's vzdump asks for it)."""
        from apps.backups.services import tenant_backup_storage_set

        storage = obj.backup_storage
        if "backup_storage" in form.changed_data:
            obj.backup_storage = form.initial.get("backup_storage", "")
        super().save_model(request, obj, form, change)
        if storage != obj.backup_storage:
            tenant_backup_storage_set(tenant=obj, storage=storage, actor=Actor.user(request.user))

    @admin.action(description=_("Suspend (stop the guests, read-only for the tenant)"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        from apps.guests.services import tenant_suspend  # guests build on tenancy

        for tenant in queryset:
            try:
                stops = tenant_suspend(tenant=tenant, actor=request.user)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.WARNING)
            else:
                self.message_user(
                    request,
                    _("%(tenant)s suspended, %(count)d guests stopping.")
                    % {"tenant": tenant.slug, "count": len(stops)},
                )

    @admin.action(description=_("Unsuspend"))
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        from apps.guests.services import tenant_unsuspend

        for tenant in queryset:
            try:
                tenant_unsuspend(tenant=tenant, actor=request.user)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.WARNING)
            else:
                self.message_user(request, _("%(tenant)s unsuspended.") % {"tenant": tenant.slug})


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
    list_filter = ["active", "clusters"]
    filter_horizontal = ["clusters"]
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
