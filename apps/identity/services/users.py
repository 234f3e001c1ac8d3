"""Realms and users."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import Realm, User
from apps.identity.realms.options import clean_realm_options
from pvecore.ids import split_userid


def realm_create(
    *,
    name: str,
    type: str,
    options: dict[str, object] | None = None,
    bind_password: str = "",
    comment: str = "",
    default: bool = False,
    tfa_required: bool = False,
    enabled: bool = True,
    actor: Actor = SYSTEM,
) -> Realm:
    if type not in Realm.Type.values:
        raise ValidationError({"type": f"unknown realm type '{type}'"})
    realm = Realm(
        name=name,
        type=type,
        options=clean_realm_options(type, options or {}),
        bind_password=bind_password,
        comment=comment,
        default=default,
        tfa_required=tfa_required,
        enabled=enabled,
    )
    realm.full_clean()
    with transaction.atomic():
        if default:
            Realm.objects.filter(default=True).update(default=False)
        realm.save()
        audit_record(action="identity.realm_created", actor=actor, target=f"/access/realm/{name}")
    return realm


def user_create(
    *,
    userid: str,
    password: str | None = None,
    email: str = "",
    firstname: str = "",
    lastname: str = "",
    is_staff: bool = False,
    enabled: bool = True,
    actor: Actor = SYSTEM,
) -> User:
    """Create `name@realm` in an existing realm; only `pve` realm users have portal passwords."""
    _name, realm_name = split_userid(userid)
    realm = Realm.objects.filter(name=realm_name).first()
    if realm is None:
        raise ValidationError({"userid": f"domain '{realm_name}' does not exist"})
    if password is not None and realm.type != Realm.Type.PVE:
        raise ValidationError({"password": f"realm '{realm_name}' checks passwords itself"})
    user = User(
        username=userid,
        realm=realm,
        email=email,
        first_name=firstname,
        last_name=lastname,
        is_staff=is_staff,
        is_superuser=is_staff,
        is_active=enabled,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean()
    with transaction.atomic():
        user.save()
        audit_record(action="identity.user_created", actor=actor, target=userid)
    return user


def resolve_login_userid(*, name: str, realm_name: str) -> str:
    """`alice` + realm `pve` -> `alice@pve`; a typed `alice@corp` wins when `corp` is a realm."""
    name = name.strip()
    if "@" in name:
        candidate_realm = name.rsplit("@", 1)[1]
        if Realm.objects.filter(name=candidate_realm).exists():
            return name
    return f"{name}@{realm_name}"
