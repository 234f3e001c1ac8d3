"""Back-office admin for roles, groups, ACL entries, pools and API tokens.

Forms validate with pvecore's rules; every save and delete is audited in the admin's transaction
and invalidates the compiled access model. Token secrets are never shown (only a digest is
stored) and tokens are created with `pveum user token add` or the API, which show the secret once.
"""

from django import forms
from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from apps.access.compiled import access_changed
from apps.access.models import AclEntry, ApiToken, Group, Pool, PoolGuest, PoolStorage, Role
from apps.access.services.acl import clean_acl_path
from apps.audit.admin import AuditedModelAdmin
from pvecore.ids import is_valid_group_name, is_valid_pool_name
from pvecore.privileges import PRIVILEGES, is_builtin_role, validate_custom_role


class AuditedAccessAdmin(AuditedModelAdmin):
    """Audited like every back-office edit, and invalidates the compiled access model."""

    def audit(self, request: HttpRequest, obj: Model, verb: str) -> None:
        super().audit(request, obj, verb)
        access_changed()


class RoleForm(forms.ModelForm):
    privileges = forms.MultipleChoiceField(
        choices=[(name, name) for name in PRIVILEGES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Role
        fields = ["name", "privileges"]

    def clean(self) -> dict:
        cleaned = super().clean()
        name = cleaned.get("name", "")
        if self.instance.pk is None or name != self.instance.name:
            try:
                validate_custom_role(name, cleaned.get("privileges", []))
            except ValueError as error:
                raise forms.ValidationError(str(error)) from None
        cleaned["privileges"] = sorted(cleaned.get("privileges", []))
        return cleaned


@admin.register(Role)
class RoleAdmin(AuditedAccessAdmin):
    form = RoleForm
    list_display = ["name", "privilege_list"]
    search_fields = ["name"]

    @admin.display(description="privileges")
    def privilege_list(self, role: Role) -> str:
        return ", ".join(role.privileges)


class GroupForm(forms.ModelForm):
    class Meta:
        model = Group
        fields = ["name", "comment", "members"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not is_valid_group_name(name):
            raise forms.ValidationError(f"invalid group name '{name}'")
        return name


@admin.register(Group)
class GroupAdmin(AuditedAccessAdmin):
    form = GroupForm
    list_display = ["name", "comment", "synced_from_realm"]
    search_fields = ["name", "comment"]
    filter_horizontal = ["members"]


class AclEntryForm(forms.ModelForm):
    class Meta:
        model = AclEntry
        fields = ["path", "role", "propagate", "user", "group", "token"]

    def clean_path(self) -> str:
        try:
            return clean_acl_path(self.cleaned_data["path"])
        except forms.ValidationError as error:
            raise forms.ValidationError(error.messages) from None

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if not is_builtin_role(role) and not Role.objects.filter(name=role).exists():
            raise forms.ValidationError(f"role '{role}' does not exist")
        return role

    def clean(self) -> dict:
        cleaned = super().clean()
        subjects = [cleaned.get(name) for name in ("user", "group", "token")]
        if sum(subject is not None for subject in subjects) != 1:
            raise forms.ValidationError("choose exactly one of user, group or token")
        return cleaned


@admin.register(AclEntry)
class AclEntryAdmin(AuditedAccessAdmin):
    form = AclEntryForm
    list_display = ["path", "subject", "role", "propagate"]
    list_filter = ["role", "propagate"]
    search_fields = ["path", "role", "user__username", "group__name", "token__name"]
    list_select_related = ["user", "group", "token__user"]
    autocomplete_fields = ["user", "group", "token"]


class PoolForm(forms.ModelForm):
    class Meta:
        model = Pool
        fields = ["name", "comment"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if not is_valid_pool_name(name):
            raise forms.ValidationError(f"pool name '{name}' contains invalid characters")
        return name


class PoolGuestInline(admin.TabularInline):
    model = PoolGuest
    extra = 0


class PoolStorageInline(admin.TabularInline):
    model = PoolStorage
    extra = 0


@admin.register(Pool)
class PoolAdmin(AuditedAccessAdmin):
    form = PoolForm
    list_display = ["name", "comment"]
    search_fields = ["name", "comment"]
    inlines = [PoolGuestInline, PoolStorageInline]

    def save_related(self, request: HttpRequest, form: forms.Form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        access_changed()  # members are saved after the pool itself


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAccessAdmin):
    list_display = ["__str__", "privsep", "expire", "last_used_at", "created_at"]
    list_filter = ["privsep"]
    search_fields = ["user__username", "name", "comment"]
    list_select_related = ["user"]
    fields = ["user", "name", "privsep", "expire", "comment", "created_at", "last_used_at"]
    readonly_fields = ["user", "name", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a new token's secret must be shown once: pveum or the API do that
