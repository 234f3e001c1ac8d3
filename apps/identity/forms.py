from allauth.account.forms import ResetPasswordForm
from django import forms
from django.utils.translation import gettext_lazy as _

from apps.core.forms import BootstrapForm
from apps.identity.models import Realm


def realm_choices() -> list[tuple[str, str]]:
    realms = Realm.objects.filter(enabled=True)
    return [(realm.name, realm.comment or realm.name) for realm in realms]


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    realm = forms.ChoiceField(label=_("Realm"), choices=())
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["realm"].choices = realm_choices()
        default = Realm.objects.filter(default=True, enabled=True).first()
        if default is not None:
            self.fields["realm"].initial = default.name


class SecondFactorForm(forms.Form):
    code = forms.CharField(
        label=_("TOTP code or recovery code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}
        ),
    )


class TotpConfirmForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class PasswordResetForm(ResetPasswordForm):
    """allauth's reset form, limited to accounts whose password the portal itself checks."""

    def clean_email(self) -> str:
        email = super().clean_email()
        self.users = [user for user in self.users if user.realm.type == Realm.Type.PVE]
        return email


class TokenForm(BootstrapForm):
    """A new API token `user@realm!name`; the tokens service validates like PVE."""

    name = forms.RegexField(
        label=_("Token name"),
        max_length=64,
        regex=r"^[A-Za-z][A-Za-z0-9.\-_]+$",
        help_text=_("Letters, digits, '.', '-' and '_', starting with a letter."),
    )
    comment = forms.CharField(label=_("Comment"), max_length=255, required=False)
    privsep = forms.BooleanField(
        label=_("Privilege separation"),
        required=False,
        initial=True,
        help_text=_(
            "The token gets only what permissions grant the token itself, never more than "
            "you have. Without it, the token acts with all your privileges."
        ),
    )
    expire = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: when your account expires (never, if it does not)."),
    )
