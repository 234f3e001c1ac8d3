"""Inviting people to built-in (pve realm) accounts: they choose their own password."""

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from apps.audit.services import Actor, audit_record
from apps.identity.models import Realm, User
from apps.identity.services.users import user_create
from apps.tenancy.models import Tenant
from pvecore.ids import split_userid


def set_password_url(*, user: User, request: HttpRequest) -> str:
    """allauth's reset-from-key link: valid until used, the password changes, or it expires."""
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return request.build_absolute_uri(path)


def user_invite(
    *, userid: str, email: str, actor: Actor, request: HttpRequest, tenant: Tenant | None = None
) -> User:
    """Create `name@pve` (a user of `tenant`, if given) without a usable password and e-mail a
    link to set one."""
    _name, realm_name = split_userid(userid)
    if not Realm.objects.filter(name=realm_name, type=Realm.Type.PVE).exists():
        raise ValidationError({"userid": "invitations are for built-in (pve type) realms"})
    if not email:
        raise ValidationError({"email": "an invitation needs an e-mail address"})
    with transaction.atomic():
        user = user_create(userid=userid, email=email, tenant=tenant, actor=actor)
        audit_record(
            action="identity.user_invited",
            actor=actor,
            target=userid,
            request=request,
            detail={"email": email},
        )
        context = {
            "user": user,
            "url": set_password_url(user=user, request=request),
            "inviter": actor.name,
        }
        transaction.on_commit(
            lambda: send_mail(
                subject=render_to_string("identity/email/invitation_subject.txt", context).strip(),
                message=render_to_string("identity/email/invitation_message.txt", context),
                from_email=None,
                recipient_list=[email],
            )
        )
    return user
