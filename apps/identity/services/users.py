"""Realms and users."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import Realm, User
from apps.identity.realms.options import SECRET_OPTIONS, clean_realm_options
from apps.tenancy.models import Tenant
from pvecore.ids import split_userid


def realm_create(
    *,
    name: str,
    type: str,
    options: dict[str, object] | None = None,
    bind_password: str = "",
    client_key: str = "",
    comment: str = "",
    default: bool = False,
    tfa_required: bool = False,
    enabled: bool = True,
    tenant: Tenant | None = None,
    actor: Actor = SYSTEM,
) -> Realm:
    if type not in Realm.Type.values:
        raise ValidationError({"type": f"unknown realm type '{type}'"})
    cleaned, secrets = _split_secrets(clean_realm_options(type, options or {}))
    realm = Realm(
        name=name,
        type=type,
        options=cleaned,
        bind_password=bind_password,
        client_key=secrets.get("client-key", client_key),
        comment=comment,
        default=default,
        tfa_required=tfa_required,
        enabled=enabled,
        tenant=tenant,
    )
    # The one-default constraint holds once the old default is cleared, inside the transaction.
    realm.full_clean(validate_constraints=False)
    with transaction.atomic():
        if default:
            Realm.objects.filter(default=True).update(default=False)
        realm.save()
        audit_record(action="identity.realm_created", actor=actor, target=f"/access/realm/{name}")
    return realm


BUILTIN_REALMS = frozenset({"pve", "pam"})


def _split_secrets(options: dict[str, object]) -> tuple[dict[str, object], dict[str, str]]:
    """Secret options (an OIDC client key) go to encrypted fields, never into the options JSON."""
    plain = {k: v for k, v in options.items() if k not in SECRET_OPTIONS}
    return plain, {k: str(v) for k, v in options.items() if k in SECRET_OPTIONS}


def realm_modify(
    *,
    realm: Realm,
    options: dict[str, object] | None = None,
    delete: frozenset[str] = frozenset(),
    bind_password: str | None = None,
    client_key: str | None = None,
    comment: str | None = None,
    default: bool | None = None,
    tfa_required: bool | None = None,
    enabled: bool | None = None,
    actor: Actor = SYSTEM,
) -> Realm:
    """Like `pveum realm modify`: given options replace, `delete` removes, the rest stay."""
    merged = {k: v for k, v in realm.options.items() if k not in delete}
    merged.update(options or {})
    realm.options, secrets = _split_secrets(clean_realm_options(realm.type, merged))
    if "client-key" in delete:
        realm.client_key = ""
    client_key = secrets.get("client-key", client_key)
    if client_key is not None:
        realm.client_key = client_key
    for name, value in (
        ("comment", comment),
        ("default", default),
        ("tfa_required", tfa_required),
        ("enabled", enabled),
    ):
        if value is not None:
            setattr(realm, name, value)
    if bind_password is not None:
        realm.bind_password = bind_password
    realm.full_clean(validate_constraints=False)
    with transaction.atomic():
        if realm.default:
            Realm.objects.exclude(pk=realm.pk).filter(default=True).update(default=False)
        realm.save()
        audit_record(
            action="identity.realm_modified",
            actor=actor,
            target=f"/access/realm/{realm.name}",
            detail={"options": sorted(options or {}), "deleted": sorted(delete)},
        )
    return realm


def realm_delete(*, realm: Realm, actor: Actor = SYSTEM) -> None:
    """Built-in realms stay; a realm with users is kept until they are removed or moved."""
    if realm.name in BUILTIN_REALMS:
        raise ValidationError({"realm": f"can't remove the built-in realm '{realm.name}'"})
    user_count = realm.users.count()
    if user_count:
        raise ValidationError(
            {"realm": f"realm '{realm.name}' still has {user_count} users; remove them first"}
        )
    with transaction.atomic():
        audit_record(
            action="identity.realm_deleted", actor=actor, target=f"/access/realm/{realm.name}"
        )
        realm.delete()


def user_create(
    *,
    userid: str,
    password: str | None = None,
    email: str = "",
    firstname: str = "",
    lastname: str = "",
    is_staff: bool = False,
    enabled: bool = True,
    expire: datetime | None = None,
    comment: str = "",
    tenant: Tenant | None = None,
    actor: Actor = SYSTEM,
) -> User:
    """Create `name@realm` in an existing realm; only `pve` realm users have portal passwords.

    The users of a tenant's own realm belong to that tenant.
    """
    _name, realm_name = split_userid(userid)
    realm = Realm.objects.filter(name=realm_name).first()
    if realm is None:
        raise ValidationError({"userid": f"domain '{realm_name}' does not exist"})
    if realm.tenant is not None:
        if tenant is not None and tenant != realm.tenant:
            raise ValidationError(
                {"tenant": f"users of realm '{realm_name}' belong to tenant '{realm.tenant.slug}'"}
            )
        tenant = realm.tenant
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
        expire=expire,
        comment=comment,
        tenant=tenant,
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
