"""API tokens `user@realm!name`: created with a secret shown once, checked in constant time."""

import enum
import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.access.compiled import access_changed
from apps.access.models import ApiToken
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import User
from pvecore.ids import is_tokenid, split_tokenid

# A token used within this interval keeps its recorded time: no write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class _Expiry(enum.Enum):
    USER = "the owner's expiry"


# PVE's default: a new token expires when its user does.
USER_EXPIRY = _Expiry.USER


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# Compared against when the token does not exist, so a miss costs what a wrong secret costs.
_UNMATCHABLE_DIGEST = secret_digest(secrets.token_hex(32))


def _new_secret() -> str:
    # Shaped like PVE's UUID secrets (clients expect that), but all 128 bits random.
    return str(uuid.UUID(bytes=secrets.token_bytes(16)))


def token_create(
    *,
    user: User,
    name: str,
    privsep: bool = True,
    expire: datetime | _Expiry | None = USER_EXPIRY,
    comment: str = "",
    actor: Actor = SYSTEM,
) -> tuple[ApiToken, str]:
    """Create `user!name`; returns the token and its secret, which is never available again."""
    tokenid = f"{user.get_username()}!{name}"
    if not is_tokenid(tokenid):
        raise ValidationError({"tokenid": f"invalid token name '{name}'"})
    secret = _new_secret()
    token = ApiToken(
        user=user,
        name=name,
        privsep=privsep,
        comment=comment,
        expire=user.expire if expire is USER_EXPIRY else expire,
        secret_digest=secret_digest(secret),
    )
    with transaction.atomic():
        if ApiToken.objects.filter(user=user, name=name).exists():
            raise ValidationError(
                {"tokenid": f"Token '{name}' for user '{user.get_username()}' already exists."}
            )
        token.save()
        audit_record(
            action="access.token_created",
            actor=actor,
            target=tokenid,
            detail={
                "privsep": privsep,
                "expire": token.expire.isoformat() if token.expire else None,
            },
        )
        access_changed()
    return token, secret


def token_import(
    *,
    user: User,
    name: str,
    privsep: bool,
    expire: datetime | None,
    comment: str = "",
    actor: Actor = SYSTEM,
) -> ApiToken:
    """A token known from a user.cfg, which holds no secrets: it cannot authenticate until it
    is deleted and created again."""
    tokenid = f"{user.get_username()}!{name}"
    if not is_tokenid(tokenid):
        raise ValidationError({"tokenid": f"invalid token name '{name}'"})
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, privsep=privsep, expire=expire, comment=comment
        )
        audit_record(
            action="access.token_imported",
            actor=actor,
            target=tokenid,
            detail={"privsep": privsep},
        )
        access_changed()
    return token


def token_delete(*, token: ApiToken, actor: Actor = SYSTEM) -> None:
    """Delete the token and its ACL entries."""
    with transaction.atomic():
        tokenid = token.tokenid
        token.delete()
        audit_record(action="access.token_deleted", actor=actor, target=tokenid)
        access_changed()


def token_authenticate(*, tokenid: str, secret: str) -> ApiToken | None:
    """The token if the secret matches and the token and its user are valid now, else None.

    Callers answer every failure the same way, so nobody learns which part was wrong.
    """
    try:
        userid, name = split_tokenid(tokenid)
    except ValueError:
        return None
    token = ApiToken.objects.select_related("user").filter(user__username=userid, name=name).first()
    stored = token.secret_digest if token is not None and token.secret_digest else None
    matches = hmac.compare_digest(stored or _UNMATCHABLE_DIGEST, secret_digest(secret))
    if token is None or stored is None or not matches:
        return None
    now = timezone.now()
    if not token.user.is_active or token.user.is_expired(now=now) or token.is_expired(now=now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
