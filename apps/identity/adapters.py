"""django-allauth hooks: sign-up creates `name@<default built-in realm>` accounts."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import HttpRequest
from django.utils.translation import gettext as _

from apps.identity.models import Realm, User
from pvecore.ids import is_userid, split_userid


def signup_realm() -> Realm:
    """Self-registered accounts go to the default realm if it is a shared built-in one, else to
    `pve`."""
    default = Realm.objects.filter(default=True, type=Realm.Type.PVE, tenant=None).first()
    return default or Realm.objects.get(name="pve")


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        """Accounts come from invitations, realms and billing; open sign-up is opt-in."""
        return settings.ACCOUNT_ALLOW_REGISTRATION

    def clean_username(self, username: str, shallow: bool = False) -> str:
        realm = signup_realm()
        userid = username if "@" in username else f"{username}@{realm.name}"
        if not is_userid(userid) or split_userid(userid)[1] != realm.name:
            raise ValidationError(
                _("Choose a user name without '@'; it becomes name@%(realm)s.")
                % {"realm": realm.name}
            )
        return super().clean_username(userid, shallow=shallow)

    def save_user(
        self, request: HttpRequest, user: User, form: BaseForm, commit: bool = True
    ) -> User:
        user = super().save_user(request, user, form, commit=False)
        user.realm = Realm.objects.get(name=split_userid(user.username)[1])
        if commit:
            user.save()
        return user
