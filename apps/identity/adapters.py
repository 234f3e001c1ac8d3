"""django-allauth hooks: sign-up creates `name@<default built-in realm>` accounts; OpenID
Connect realms are allauth `openid_connect` apps built from their Realm rows."""

from urllib.parse import urlencode

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from allauth.socialaccount.providers.base import AuthError, Provider
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.forms import BaseForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from apps.audit.services import Actor, audit_record
from apps.identity.models import Realm, User
from apps.identity.realms import openid
from apps.identity.services.login import REALM_BACKEND, login_first_factor_passed
from apps.identity.services.openid import OpenIdLoginRefused, openid_login_user
from apps.identity.views import login_continue
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


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """OpenID Connect realms: apps come from Realm rows, logins end in the portal's login flow."""

    def list_apps(
        self, request: HttpRequest | None, provider: str | None = None, client_id: str | None = None
    ) -> list[SocialApp]:
        realms = Realm.objects.filter(type=Realm.Type.OPENID, enabled=True)
        if provider and provider != openid.PROVIDER:
            realms = realms.filter(name=provider)
        apps = [openid.realm_social_app(realm) for realm in realms]
        return [app for app in apps if client_id is None or app.client_id == client_id]

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Never allauth's own sign-up or account linking: the realm decides who this is."""
        realm = Realm.objects.get(
            name=sociallogin.account.provider, type=Realm.Type.OPENID, enabled=True
        )
        extra = sociallogin.account.extra_data
        claims = {**extra.get("id_token", {}), **extra.get("userinfo", {})}
        try:
            user = openid_login_user(realm=realm, claims=claims, request=request)
        except OpenIdLoginRefused as refusal:
            raise ImmediateHttpResponse(_back_to_login(request, realm.name, str(refusal))) from None
        user.backend = REALM_BACKEND
        next_url = sociallogin.state.get("next") or "/"
        raise ImmediateHttpResponse(
            login_continue(request=request, step=login_first_factor_passed(user), next_url=next_url)
        )

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Provider,
        error: str | None = None,
        exception: Exception | None = None,
        extra_context: dict | None = None,
    ) -> None:
        """The IdP refused, the user cancelled, or the token exchange failed (a wrong client
        key): back to the login page, audited like a failed login."""
        realm_name = provider.app.provider_id
        audit_record(
            action="identity.login_failed",
            actor=Actor.anonymous(f"@{realm_name}"),
            target=f"/access/realm/{realm_name}",
            request=request,
            detail={"realm": realm_name, "error": str(error), "exception": repr(exception)[:500]},
        )
        if error == AuthError.CANCELLED:
            message = _("Sign-in with %(realm)s was cancelled.")
        else:
            message = _(
                "Sign-in with %(realm)s failed: the identity provider did not confirm who you are."
            )
        raise ImmediateHttpResponse(
            _back_to_login(request, realm_name, message % {"realm": provider.app.name})
        )


def _back_to_login(request: HttpRequest, realm_name: str, message: str) -> HttpResponse:
    messages.error(request, message)
    return HttpResponseRedirect(f"{reverse('identity:login')}?{urlencode({'realm': realm_name})}")
