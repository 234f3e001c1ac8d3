"""The one way to check permissions: views, DRF, consumers, tasks and services all call this.

An actor is a portal user or an authenticated API token (`request.auth`); `actor_of(request)`
picks the right one. Evaluation is pvecore's (`AccessModel`), on the cached compiled model, plus
what only the portal knows: operators (superusers) hold every privilege like root@pam, and a
disabled or expired user, or an expired token, holds none.

Lists are scoped with `visible_ids`/`visible_vmids` and the `filter_by_*` helpers, which turn the
answer into one SQL condition instead of a check per row.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.contrib.auth.models import AnonymousUser
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.access.compiled import ALL_PRIVILEGES, PortalAccessModel, current_access
from apps.access.exceptions import AccessDenied
from apps.access.models import ApiToken
from apps.audit.services import Actor
from apps.identity.models import User
from pvecore.acl import ROOT_USERID
from pvecore.paths import normalize_acl_path
from pvecore.privileges import ADMINISTRATOR

Principal = User | ApiToken | AnonymousUser
NO_PRIVILEGES: frozenset[str] = frozenset()
T = TypeVar("T")
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class AllExcept(Generic[T]):
    """Every id except `excluded`: what an actor sees below a path granted as a whole."""

    excluded: frozenset[T] = frozenset()

    def __contains__(self, item: object) -> bool:
        return item not in self.excluded


ALL: AllExcept = AllExcept()


def actor_of(request: HttpRequest) -> Principal:
    """The token when the request authenticated with one, else the user."""
    if isinstance(getattr(request, "auth", None), ApiToken):
        return request.auth
    return request.user


def principal_of(actor: Principal) -> str:
    """The PVE principal: a userid, a full token id `user@realm!name`, or '' for anonymous."""
    if isinstance(actor, ApiToken):
        return actor.tokenid
    if not actor.is_authenticated:
        return ""
    return actor.get_username()


def audit_actor(actor: Principal) -> Actor:
    """The actor as the audit log records it."""
    if isinstance(actor, ApiToken):
        return Actor.token(actor.tokenid)
    if not actor.is_authenticated:
        return Actor.anonymous()
    return Actor.user(actor)


def _owner(actor: Principal) -> User | None:
    """The user whose account must be usable; None for anonymous."""
    if isinstance(actor, ApiToken):
        return actor.user
    return actor if actor.is_authenticated else None


def _is_usable(actor: Principal) -> bool:
    now = timezone.now()
    owner = _owner(actor)
    if owner is None or not owner.is_active or owner.is_expired(now=now):
        return False
    return not (isinstance(actor, ApiToken) and actor.is_expired(now=now))


def privileges(actor: Principal, path: str) -> frozenset[str]:
    """The privileges `actor` holds on `path` (pools applied, as PVE's `permissions()`)."""
    if not _is_usable(actor):
        return NO_PRIVILEGES
    if isinstance(actor, User) and actor.is_superuser:
        return ALL_PRIVILEGES
    compiled = current_access()
    owner_is_operator = isinstance(actor, ApiToken) and actor.user.is_superuser
    # Memoised per model under the path as given: a repeated check skips even normalisation.
    key = (principal_of(actor), path, owner_is_operator)
    held = compiled.privilege_memo.get(key)
    if held is None:
        held = _evaluate(compiled.model, actor, path)
        compiled.privilege_memo[key] = held
    return held


def _evaluate(model: PortalAccessModel, actor: User | ApiToken, path: str) -> frozenset[str]:
    principal = principal_of(actor)
    if isinstance(actor, User):
        return model.acl_privileges_at(principal, path)
    held = model.privileges_at(principal, path)
    owner = actor.user
    if not (owner.is_superuser and owner.get_username() in model.operators):
        # Guard against a model compiled while the owner was still an operator.
        held &= model.acl_privileges_at(owner.get_username(), path)
    return held


def roles(actor: Principal, path: str) -> frozenset[str]:
    """The roles on `path` as PVE's `roles()` reports them: ACL entries only, no pools."""
    if not _is_usable(actor):
        return NO_PRIVILEGES
    if isinstance(actor, User) and actor.is_superuser:
        return frozenset({ADMINISTRATOR})
    return current_access().model.roles_at(principal_of(actor), normalize_acl_path(path))


def _privilege_list(privs: str | Iterable[str]) -> list[str]:
    wanted = [privs] if isinstance(privs, str) else list(privs)
    for privilege in wanted:
        if privilege not in ALL_PRIVILEGES:
            raise ValueError(f"invalid privilege '{privilege}'")
    return wanted


def has_privileges(
    actor: Principal, path: str, privs: str | Iterable[str], *, any_: bool = False
) -> bool:
    """All of `privs` on `path`, or at least one of them with `any_`."""
    wanted = _privilege_list(privs)
    held = privileges(actor, path)
    if any_:
        return any(privilege in held for privilege in wanted)
    return all(privilege in held for privilege in wanted)


def require(actor: Principal, privs: str | Iterable[str], path: str, *, any_: bool = False) -> None:
    """Raise AccessDenied with PVE's message unless `has_privileges` holds."""
    wanted = _privilege_list(privs)
    held = privileges(actor, path)
    if any_:
        if not any(privilege in held for privilege in wanted):
            raise AccessDenied(path, "|".join(wanted))
        return
    for privilege in wanted:
        if privilege not in held:
            raise AccessDenied(path, privilege)  # PVE names the first missing one


def permission_tree(actor: Principal) -> dict[str, frozenset[str]]:
    """Non-empty privileges per path, as `GET /access/permissions` lists them."""
    if not _is_usable(actor):
        return {}
    compiled = current_access()
    principal = (
        ROOT_USERID if isinstance(actor, User) and actor.is_superuser else principal_of(actor)
    )
    tree = {path: privileges(actor, path) for path in compiled.model.permission_tree(principal)}
    return {path: held for path, held in tree.items() if held}


def visible_ids(actor: Principal, *, parent: str, privilege: str) -> set[str] | AllExcept[str]:
    """Names `x` for which `actor` holds `privilege` on `{parent}/x` (e.g. `/storage/x`).

    Any child no ACL entry and no pool mentions has the same privileges as every other such
    child, so one probe decides for all of them and only the mentioned ones are checked.
    """
    _privilege_list(privilege)
    if not _is_usable(actor):
        return set()
    if isinstance(actor, User) and actor.is_superuser:
        return ALL
    compiled = current_access()
    parent = normalize_acl_path(parent)
    owner = _owner(actor)
    key = (principal_of(actor), owner.is_superuser, parent, privilege)
    # Memoised with the compiled model, which a change replaces; account state is checked above.
    cached = compiled.visible_memo.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    mentioned = compiled.mentioned_children.get(parent, frozenset())
    base = "" if parent == "/" else parent
    probe = "-"
    while probe in mentioned:
        probe += "-"

    def holds(child: str) -> bool:
        return privilege in privileges(actor, f"{base}/{child}")

    visible: set[str] | AllExcept[str]
    if holds(probe):
        visible = AllExcept(frozenset(child for child in mentioned if not holds(child)))
    else:
        visible = {child for child in mentioned if holds(child)}
    compiled.visible_memo[key] = visible
    return visible


def visible_vmids(actor: Principal, privilege: str = "VM.Audit") -> set[int] | AllExcept[int]:
    """The VMIDs `actor` may see (or act on, with another privilege)."""
    visible = visible_ids(actor, parent="/vms", privilege=privilege)
    if isinstance(visible, AllExcept):
        return AllExcept(frozenset(int(child) for child in visible.excluded if child.isdigit()))
    return {int(child) for child in visible if child.isdigit()}


def filter_by_id(
    queryset: QuerySet[M], actor: Principal, *, privilege: str, parent: str, field: str
) -> QuerySet[M]:
    """Rows whose `field` names a child of `parent` on which `actor` holds `privilege`."""
    if parent == "/vms":
        visible: set | AllExcept = visible_vmids(actor, privilege)
    else:
        visible = visible_ids(actor, parent=parent, privilege=privilege)
    if isinstance(visible, AllExcept):
        if not visible.excluded:
            return queryset
        return queryset.exclude(**{f"{field}__any": visible.excluded})
    return queryset.filter(**{f"{field}__any": visible})


def filter_by_vmid(
    queryset: QuerySet[M], actor: Principal, *, privilege: str = "VM.Audit", field: str = "vmid"
) -> QuerySet[M]:
    """Guests (or anything keyed by a VMID) the actor may see, as one SQL condition."""
    return filter_by_id(queryset, actor, privilege=privilege, parent="/vms", field=field)


def filter_by_path(
    queryset: QuerySet[M], actor: Principal, *, privilege: str, path_for: Callable[[M], str]
) -> QuerySet[M]:
    """Rows whose `path_for(row)` grants `privilege`; a check per row, for paths not keyed by
    one column (nested pools, SDN objects). Prefer `filter_by_id` where it applies."""
    _privilege_list(privilege)
    allowed = [row.pk for row in queryset if privilege in privileges(actor, path_for(row))]
    return queryset.filter(pk__in=allowed)
