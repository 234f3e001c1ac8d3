"""Custom roles. Built-in roles live in pvecore and can be neither created nor changed."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access.compiled import access_changed
from apps.access.models import AclEntry, Role
from apps.audit.services import SYSTEM, Actor, audit_record
from pvecore.privileges import PRIVILEGES, is_builtin_role, validate_custom_role


def _checked_privileges(privileges: Iterable[str]) -> list[str]:
    wanted = sorted(set(privileges))
    for privilege in wanted:
        if privilege not in PRIVILEGES:
            raise ValidationError({"privs": f"invalid privilege '{privilege}'"})
    return wanted


def _refuse_builtin(name: str, verb: str) -> None:
    if is_builtin_role(name):
        raise ValidationError({"roleid": f"cannot {verb} built-in role '{name}'"})


def role_create(*, name: str, privileges: Iterable[str] = (), actor: Actor = SYSTEM) -> Role:
    wanted = _checked_privileges(privileges)
    try:
        validate_custom_role(name, wanted)
    except ValueError as error:
        raise ValidationError({"roleid": str(error)}) from None
    with transaction.atomic():
        if Role.objects.filter(name=name).exists():
            raise ValidationError({"roleid": f"role '{name}' already exists"})
        role = Role.objects.create(name=name, privileges=wanted)
        audit_record(
            action="access.role_created",
            actor=actor,
            target=name,
            detail={"privileges": wanted},
        )
        access_changed()
    return role


def role_modify(
    *, name: str, privileges: Iterable[str], append: bool = False, actor: Actor = SYSTEM
) -> Role:
    """Replace the role's privileges, or add to them with `append` (`pveum role modify`)."""
    _refuse_builtin(name, "modify")
    wanted = _checked_privileges(privileges)
    with transaction.atomic():
        role = Role.objects.select_for_update().filter(name=name).first()
        if role is None:
            raise ValidationError({"roleid": f"role '{name}' does not exist"})
        before = list(role.privileges)
        role.privileges = sorted(set(before) | set(wanted)) if append else wanted
        role.save(update_fields=["privileges"])
        audit_record(
            action="access.role_modified",
            actor=actor,
            target=name,
            detail={"before": before, "after": role.privileges},
        )
        access_changed()
    return role


def role_delete(*, name: str, actor: Actor = SYSTEM) -> None:
    """Delete a custom role and, as PVE does, every ACL entry that grants it."""
    _refuse_builtin(name, "delete")
    with transaction.atomic():
        deleted, _ = Role.objects.filter(name=name).delete()
        if not deleted:
            raise ValidationError({"roleid": f"role '{name}' does not exist"})
        removed, _ = AclEntry.objects.filter(role=name).delete()
        audit_record(
            action="access.role_deleted",
            actor=actor,
            target=name,
            detail={"acl_entries_removed": removed},
        )
        access_changed()
