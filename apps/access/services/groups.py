"""Groups (`/access/groups/{name}`) and their members."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.compiled import access_changed
from apps.access.models import Group
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import User
from pvecore.ids import is_valid_group_name


def _target(name: str) -> str:
    return f"/access/groups/{name}"


def _userids(members: Iterable[User]) -> list[str]:
    return sorted(user.get_username() for user in members)


def group_create(
    *, name: str, comment: str = "", members: Iterable[User] = (), actor: Actor = SYSTEM
) -> Group:
    if not is_valid_group_name(name):
        raise ValidationError({"groupid": f"invalid group name '{name}'"})
    members = list(members)
    with transaction.atomic():
        if Group.objects.filter(name=name).exists():
            raise ValidationError({"groupid": f"group '{name}' already exists"})
        group = Group.objects.create(name=name, comment=comment)
        group.members.set(members)
        audit_record(
            action="access.group_created",
            actor=actor,
            target=_target(name),
            detail={"members": _userids(members), "comment": comment},
        )
        access_changed()
    return group


def group_modify(
    *,
    group: Group,
    comment: str | None = None,
    members: Iterable[User] | None = None,
    actor: Actor = SYSTEM,
) -> Group:
    """Change the comment and/or replace the member list; None leaves a field as it is."""
    detail: dict[str, object] = {}
    with transaction.atomic():
        if comment is not None:
            group.comment = comment
            group.save(update_fields=["comment"])
            detail["comment"] = comment
        if members is not None:
            members = list(members)
            group.members.set(members)
            detail["members"] = _userids(members)
        audit_record(
            action="access.group_modified", actor=actor, target=_target(group.name), detail=detail
        )
        access_changed()
    return group


def group_delete(*, group: Group, actor: Actor = SYSTEM) -> None:
    """Delete the group with its memberships and ACL entries, as PVE does."""
    with transaction.atomic():
        name = group.name
        group.delete()
        audit_record(action="access.group_deleted", actor=actor, target=_target(name))
        access_changed()
