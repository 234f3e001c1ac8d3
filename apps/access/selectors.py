"""Reads: lists for the operator tools and resolving PVE ids to rows."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet

from apps.access import engine
from apps.access.models import AclEntry, ApiToken, Group, Pool, Role
from apps.identity.models import Realm, User
from pvecore.ids import is_tokenid, split_tokenid
from pvecore.paths import is_valid_acl_path, normalize_acl_path
from pvecore.privileges import BUILTIN_ROLES


@dataclass(frozen=True)
class RoleInfo:
    name: str
    privileges: tuple[str, ...]
    builtin: bool


def role_list() -> list[RoleInfo]:
    """Built-in and custom roles, sorted by name, like `GET /access/roles`."""
    roles = [RoleInfo(name, tuple(sorted(privs)), True) for name, privs in BUILTIN_ROLES.items()]
    roles += [
        RoleInfo(name, tuple(privileges), False)
        for name, privileges in Role.objects.values_list("name", "privileges")
    ]
    return sorted(roles, key=lambda role: role.name)


def acl_list() -> QuerySet[AclEntry]:
    return AclEntry.objects.select_related("user", "group", "token__user").order_by(
        "path", "role", "id"
    )


def group_list() -> QuerySet[Group]:
    return Group.objects.prefetch_related(
        Prefetch("members", queryset=User.objects.order_by("username"))
    )


def pool_list() -> QuerySet[Pool]:
    return Pool.objects.prefetch_related("guests", "storages")


def token_list(*, user: User | None = None) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user")
    return tokens.filter(user=user) if user is not None else tokens


def user_list() -> QuerySet[User]:
    return User.objects.order_by("username")


def user_by_id(userid: str) -> User:
    user = User.objects.filter(username=userid).first()
    if user is None:
        raise ValidationError({"userid": f"no such user ('{userid}')"})
    return user


def group_by_name(name: str) -> Group:
    group = Group.objects.filter(name=name).first()
    if group is None:
        raise ValidationError({"groupid": f"group '{name}' does not exist"})
    return group


def pool_by_name(name: str) -> Pool:
    pool = Pool.objects.filter(name=name).first()
    if pool is None:
        raise ValidationError({"poolid": f"pool '{name}' does not exist"})
    return pool


def token_by_id(tokenid: str) -> ApiToken:
    try:
        userid, name = split_tokenid(tokenid)
    except ValueError as error:
        raise ValidationError({"tokenid": str(error)}) from None
    token = ApiToken.objects.select_related("user").filter(user__username=userid, name=name).first()
    if token is None:
        raise ValidationError({"tokenid": f"no such token '{name}' for user '{userid}'"})
    return token


def realm_list() -> QuerySet[Realm]:
    return Realm.objects.order_by("name")


def realm_by_name(name: str) -> Realm:
    realm = Realm.objects.filter(name=name).first()
    if realm is None:
        raise ValidationError({"realm": f"domain '{name}' does not exist"})
    return realm


def principal_by_id(subject: str) -> User | ApiToken:
    """A user for `name@realm`, a token for `name@realm!token`."""
    return token_by_id(subject) if is_tokenid(subject) else user_by_id(subject)


def subject_permissions(*, subject: str, path: str | None = None) -> dict[str, frozenset[str]]:
    """Like `pveum user permissions`: privileges on `path`, or on every relevant path."""
    principal = principal_by_id(subject)
    if path is None:
        return engine.permission_tree(principal)
    if not is_valid_acl_path(path):
        raise ValidationError({"path": f"invalid ACL path '{path}'"})
    normalized = normalize_acl_path(path)
    return {normalized: engine.privileges(principal, normalized)}
