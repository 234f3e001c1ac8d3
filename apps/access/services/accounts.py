"""User accounts as PVE's `/access/users` sees them: identity plus expiry, groups and cleanup.

Identity's `user_create` makes the account; this adds what `pveum user add` also sets (expiry,
comment, groups) in the same transaction, and deletes accounts with their access data, as
PVE's user delete does.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from apps.access.compiled import access_changed
from apps.access.models import AclEntry, Group
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import User
from apps.identity.services.users import user_create


def account_add(
    *,
    userid: str,
    password: str | None = None,
    email: str = "",
    firstname: str = "",
    lastname: str = "",
    enabled: bool = True,
    expire: datetime | None = None,
    comment: str = "",
    groups: Iterable[Group] = (),
    actor: Actor = SYSTEM,
) -> User:
    groups = list(groups)
    with transaction.atomic():
        user = user_create(
            userid=userid,
            password=password,
            email=email,
            firstname=firstname,
            lastname=lastname,
            enabled=enabled,
            expire=expire,
            comment=comment,
            actor=actor,
        )
        if groups:
            user.access_groups.add(*groups)
            audit_record(
                action="access.user_groups_set",
                actor=actor,
                target=userid,
                detail={"groups": sorted(group.name for group in groups)},
            )
            access_changed()
    return user


def account_delete(*, user: User, actor: Actor = SYSTEM) -> None:
    """Delete the account with its ACL entries, tokens and group memberships."""
    with transaction.atomic():
        userid = user.get_username()
        acl_entries = AclEntry.objects.filter(user=user).count()
        tokens = sorted(user.api_tokens.values_list("name", flat=True))
        user.delete()  # cascades to ACL entries, tokens (and their entries) and memberships
        audit_record(
            action="access.user_deleted",
            actor=actor,
            target=userid,
            detail={"acl_entries_removed": acl_entries, "tokens_removed": tokens},
        )
        access_changed()
