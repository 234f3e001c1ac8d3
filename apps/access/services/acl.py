"""ACL entries, changed the way `PUT /access/acl` (`pveum acl modify/delete`) changes them."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from apps.access.compiled import access_changed
from apps.access.models import AclEntry, ApiToken, Group, Role
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import User
from pvecore.ids import split_tokenid
from pvecore.paths import is_valid_acl_path, normalize_acl_path
from pvecore.privileges import is_builtin_role

Subject = tuple[str, User | Group | ApiToken]  # (field name on AclEntry, row)


def clean_acl_path(path: str) -> str:
    """The normalised path, or ValidationError for a path PVE refuses."""
    if not is_valid_acl_path(path):
        raise ValidationError({"path": f"invalid ACL path '{path}'"})
    return normalize_acl_path(path)


def _check_roles(roles: Iterable[str]) -> list[str]:
    names = sorted(set(roles))
    if not names:
        raise ValidationError({"roles": "no roles specified"})
    custom = set(Role.objects.filter(name__in=names).values_list("name", flat=True))
    for name in names:
        if not is_builtin_role(name) and name not in custom:
            raise ValidationError({"roles": f"role '{name}' does not exist"})
    return names


def _subjects(users: Iterable[str], groups: Iterable[str], tokens: Iterable[str]) -> list[Subject]:
    subjects: list[Subject] = []
    for userid in sorted(set(users)):
        user = User.objects.filter(username=userid).first()
        if user is None:
            raise ValidationError({"users": f"user '{userid}' does not exist"})
        subjects.append(("user", user))
    for name in sorted(set(groups)):
        group = Group.objects.filter(name=name).first()
        if group is None:
            raise ValidationError({"groups": f"group '{name}' does not exist"})
        subjects.append(("group", group))
    for tokenid in sorted(set(tokens)):
        try:
            userid, token_name = split_tokenid(tokenid)
        except ValueError as error:
            raise ValidationError({"tokens": str(error)}) from None
        token = ApiToken.objects.filter(user__username=userid, name=token_name).first()
        if token is None:
            raise ValidationError({"tokens": f"token '{tokenid}' does not exist"})
        subjects.append(("token", token))
    if not subjects:
        raise ValidationError({"users": "no users, groups or tokens specified"})
    return subjects


def _detail(path: str, roles: list[str], subjects: list[Subject], **extra: object) -> dict:
    names = [row.tokenid if kind == "token" else str(row) for kind, row in subjects]
    return {"path": path, "roles": roles, "subjects": names, **extra}


def acl_modify(
    *,
    path: str,
    roles: Iterable[str],
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
    tokens: Iterable[str] = (),
    propagate: bool = True,
    actor: Actor = SYSTEM,
) -> int:
    """Grant every role to every subject on `path`; an existing grant takes the new propagate
    flag. Returns how many entries were created or changed."""
    path = clean_acl_path(path)
    with transaction.atomic():
        role_names = _check_roles(roles)
        subjects = _subjects(users, groups, tokens)
        changed = 0
        for kind, row in subjects:
            for role in role_names:
                entry, created = AclEntry.objects.get_or_create(
                    path=path, role=role, **{kind: row}, defaults={"propagate": propagate}
                )
                if not created and entry.propagate != propagate:
                    entry.propagate = propagate
                    entry.save(update_fields=["propagate"])
                    changed += 1
                changed += created
        audit_record(
            action="access.acl_modified",
            actor=actor,
            target=path,
            detail=_detail(path, role_names, subjects, propagate=propagate),
        )
        access_changed()
    return changed


def acl_delete(
    *,
    path: str,
    roles: Iterable[str],
    users: Iterable[str] = (),
    groups: Iterable[str] = (),
    tokens: Iterable[str] = (),
    actor: Actor = SYSTEM,
) -> int:
    """Remove the (subject, role) grants on `path`; returns how many entries went."""
    path = clean_acl_path(path)
    with transaction.atomic():
        role_names = _check_roles(roles)
        subjects = _subjects(users, groups, tokens)
        matching = Q()
        for kind, row in subjects:
            matching |= Q(**{kind: row})
        removed, _ = AclEntry.objects.filter(matching, path=path, role__in=role_names).delete()
        audit_record(
            action="access.acl_deleted",
            actor=actor,
            target=path,
            detail=_detail(path, role_names, subjects, removed=removed),
        )
        access_changed()
    return removed


def acl_remove_subject(
    *,
    user: User | None = None,
    group: Group | None = None,
    token: ApiToken | None = None,
    actor: Actor = SYSTEM,
) -> int:
    """Remove every ACL entry of one subject (realm sync's `remove-vanished=acl`)."""
    given = [
        (kind, row)
        for kind, row in (("user", user), ("group", group), ("token", token))
        if row is not None
    ]
    if len(given) != 1:
        raise ValueError("acl_remove_subject needs exactly one of user, group or token")
    kind, row = given[0]
    with transaction.atomic():
        removed, _ = AclEntry.objects.filter(**{kind: row}).delete()
        subject = row.tokenid if kind == "token" else str(row)
        audit_record(
            action="access.acl_subject_removed",
            actor=actor,
            target=subject,
            detail={"kind": kind, "removed": removed},
        )
        access_changed()
    return removed
