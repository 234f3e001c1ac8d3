"""Forms of the tenant-admin pages. Choices are what the page offers; a value outside them is
still handed to the services, which answer a foreign user, group or path with 404."""

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.access.models import ApiToken, Group
from apps.core.forms import BootstrapForm
from apps.identity.models import User


class InviteForm(BootstrapForm):
    userid = forms.CharField(
        label=_("User id"), max_length=64, help_text=_("name@pve, e.g. bob@pve.")
    )
    email = forms.EmailField(label=_("E-mail address"), max_length=254)


class MembersField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def valid_value(self, value: str) -> bool:
        return True  # which users exist in the tenant is the service's business


class GroupForm(BootstrapForm):
    name = forms.RegexField(
        label=_("Name"),
        max_length=32,
        regex=r"^[A-Za-z0-9.\-_]+$",
        help_text=_("Letters, digits, '.', '-' and '_'. Your organisation's prefix is added."),
    )
    comment = forms.CharField(label=_("Comment"), max_length=255, required=False)
    members = MembersField(label=_("Members"), required=False)

    def __init__(self, *args, users: list[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [(user.username, user.username) for user in users]


class MembersForm(BootstrapForm):
    members = MembersField(label=_("Members"), required=False)

    def __init__(self, *args, users: list[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].choices = [(user.username, user.username) for user in users]


class GrantForm(BootstrapForm):
    """`subject` is `user:<userid>`, `group:<name>` or `token:<tokenid>`."""

    path = forms.CharField(label=_("Path"), max_length=255)
    subject = forms.RegexField(
        label=_("User or group"), max_length=80, regex=r"^(user|group|token):.+$"
    )
    role = forms.CharField(label=_("Role"), max_length=64)
    propagate = forms.BooleanField(
        label=_("Propagate"),
        required=False,
        initial=True,
        help_text=_("Also applies below the path (a pool's guests, say)."),
    )

    def __init__(
        self,
        *args,
        paths: list[str],
        users: list[User],
        groups: list[Group],
        roles: list[str],
        tokens: list[ApiToken] = (),
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["path"].widget = forms.Select(
            choices=[(path, path) for path in paths], attrs={"class": "form-select"}
        )
        self.fields["subject"].widget = forms.Select(
            choices=[
                (_("Users"), [(f"user:{user.username}", user.username) for user in users]),
                (_("Groups"), [(f"group:{group.name}", group.name) for group in groups]),
                *(
                    [(_("API tokens"), [(f"token:{t.tokenid}", t.tokenid) for t in tokens])]
                    if tokens
                    else []
                ),
            ],
            attrs={"class": "form-select"},
        )
        self.fields["role"].widget = forms.Select(
            choices=[(role, role) for role in roles], attrs={"class": "form-select"}
        )

    def subject_kwargs(self) -> dict[str, str]:
        kind, _sep, name = self.cleaned_data["subject"].partition(":")
        return {{"user": "userid", "group": "group", "token": "tokenid"}[kind]: name}
