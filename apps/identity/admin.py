"""Back-office pages for realms and users (Django admin)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from apps.audit.admin import AuditedModelAdmin
from apps.audit.services import Actor
from apps.identity.models import Realm, User
from apps.identity.realms.directory import DirectoryError
from apps.identity.realms.options import clean_realm_options
from apps.identity.services import totp
from apps.identity.services.sync import realm_sync_with_defaults
from apps.identity.services.users import BUILTIN_REALMS
from pvecore.ids import is_userid, split_userid


class RealmAdminForm(forms.ModelForm):
    bind_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the stored password."),
    )
    client_key = forms.CharField(
        label=_("Client key"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("OpenID Connect: the client secret. Leave empty to keep the stored one."),
    )

    class Meta:
        model = Realm
        fields = [
            "name",
            "type",
            "tenant",
            "comment",
            "enabled",
            "default",
            "tfa_required",
            "options",
            "bind_password",
            "client_key",
            "sync_interval_minutes",
        ]

    def clean_options(self) -> dict[str, object]:
        try:
            return clean_realm_options(
                self.cleaned_data.get("type") or self.instance.type,
                self.cleaned_data["options"] or {},
            )
        except ValidationError as error:
            raise ValidationError(
                [f"{name}: {'; '.join(problems)}" for name, problems in error.message_dict.items()]
            ) from error

    def clean_bind_password(self) -> str:
        return self.cleaned_data["bind_password"] or self.instance.bind_password

    def clean_client_key(self) -> str:
        return self.cleaned_data["client_key"] or self.instance.client_key

    def clean(self) -> dict[str, object]:
        """A client-key typed into the options goes to the encrypted field, like realm_create."""
        cleaned = super().clean()
        options = cleaned.get("options")
        if isinstance(options, dict) and "client-key" in options:
            cleaned["client_key"] = str(options.pop("client-key"))
        return cleaned


@admin.register(Realm)
class RealmAdmin(AuditedModelAdmin):
    form = RealmAdminForm
    list_display = [
        "name",
        "type",
        "enabled",
        "default",
        "tfa_required",
        "last_synced_at",
        "comment",
    ]
    list_filter = ["type", "enabled"]
    search_fields = ["name", "comment"]
    actions = ["sync_now"]

    def has_delete_permission(self, request: HttpRequest, obj: Realm | None = None) -> bool:
        """The built-in realms stay, as in PVE (and `realm_delete`)."""
        if obj is not None and obj.name in BUILTIN_REALMS:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Sync users and groups now (LDAP/AD)"))
    def sync_now(self, request: HttpRequest, queryset: QuerySet[Realm]) -> None:
        for realm in queryset.filter(type__in=[Realm.Type.LDAP, Realm.Type.AD]):
            try:
                report = realm_sync_with_defaults(realm=realm, actor=Actor.user(request.user))
            except DirectoryError as error:
                self.message_user(request, str(error), messages.ERROR)
                continue
            self.message_user(
                request,
                _("%(realm)s: %(added)d users added, %(removed)d removed, %(groups)d groups added.")
                % {
                    "realm": realm.name,
                    "added": len(report.users_added),
                    "removed": len(report.users_removed),
                    "groups": len(report.groups_added),
                },
            )


class PortalUserCreationForm(AdminUserCreationForm):
    """The user id's realm part picks the realm; only `pve` realms keep a password here."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ["username"]

    def clean_username(self) -> str:
        userid = self.cleaned_data["username"]
        if not is_userid(userid):
            raise ValidationError(_("Enter a user id of the form name@realm."))
        realm = Realm.objects.filter(name=split_userid(userid)[1]).first()
        if realm is None:
            raise ValidationError(_("There is no realm named after the '@'."))
        self.instance.realm = realm
        return userid


@admin.register(User)
class PortalUserAdmin(AuditedModelAdmin, UserAdmin):
    add_form = PortalUserCreationForm
    list_display = ["username", "realm", "tenant", "email", "is_active", "is_staff", "expire"]
    list_filter = ["realm", "tenant", "is_active", "is_staff"]
    search_fields = ["username", "email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        (_("Personal info"), {"fields": ["first_name", "last_name", "email", "comment"]}),
        (_("Access"), {"fields": ["tenant", "is_active", "is_staff", "is_superuser", "expire"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    actions = ["unlock_totp"]

    @admin.action(description=_("Unlock TOTP after too many wrong codes"))
    def unlock_totp(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        for user in queryset:
            totp.totp_unlock(user=user, actor=Actor.user(request.user), request=request)
        self.message_user(
            request, _("TOTP unlocked for %(count)d users.") % {"count": queryset.count()}
        )
