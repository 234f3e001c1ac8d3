"""ACL evaluation exactly as PVE does it.

`AccessModel.roles_at` mirrors `PVE::AccessControl::roles()` (no pools), `privileges_at` mirrors
`PVE::RPCEnvironment::permissions()` (pools applied through `$compile_acl_path`, NoAccess rules,
root@pam, API tokens with and without privilege separation). See FACTS.md 11.4-11.5a.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from types import MappingProxyType

from pvecore.ids import (
    is_tokenid,
    is_userid,
    is_valid_group_name,
    is_valid_pool_name,
    is_valid_role_name,
    split_tokenid,
)
from pvecore.paths import normalize_acl_path, path_levels
from pvecore.privileges import ADMINISTRATOR, BUILTIN_ROLES, NO_ACCESS, PRIVILEGES

ROOT_USERID = "root@pam"

# Paths `GET /access/permissions` always evaluates, besides the ACL tree and pool members.
DEFAULT_PERMISSION_PATHS: tuple[str, ...] = (
    "/",
    "/access",
    "/access/groups",
    "/nodes",
    "/pool",
    "/sdn",
    "/storage",
    "/vms",
)

_ALL_PRIVILEGES = frozenset(PRIVILEGES)


@dataclass(frozen=True)
class AclEntry:
    """One (path, subject, role, propagate) grant; exactly one of user, group, token is set."""

    path: str
    role: str
    propagate: bool = True
    _: KW_ONLY
    user: str | None = None
    group: str | None = None
    token: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", normalize_acl_path(self.path))
        subjects = [s for s in (self.user, self.group, self.token) if s is not None]
        if len(subjects) != 1:
            raise ValueError("an ACL entry needs exactly one of user, group or token")
        if self.user is not None and not is_userid(self.user):
            raise ValueError(f"invalid user ID '{self.user}' in ACL entry")
        if self.group is not None and not is_valid_group_name(self.group):
            raise ValueError(f"invalid group name '{self.group}' in ACL entry")
        if self.token is not None and not is_tokenid(self.token):
            raise ValueError(f"invalid token ID '{self.token}' in ACL entry")
        if not is_valid_role_name(self.role):
            raise ValueError(f"invalid role name '{self.role}' in ACL entry")

    @property
    def subject(self) -> str:
        """The subject as user.cfg writes it: userid, token id, or '@group'."""
        if self.group is not None:
            return f"@{self.group}"
        return self.user or self.token or ""


@dataclass(frozen=True)
class Pool:
    """A resource pool: guests and storages grouped for permissions."""

    name: str
    vms: frozenset[int] = frozenset()
    storages: frozenset[str] = frozenset()
    comment: str = ""

    def __post_init__(self) -> None:
        if not is_valid_pool_name(self.name):
            raise ValueError(f"pool name '{self.name}' contains invalid characters")

    def member_paths(self) -> list[str]:
        return [f"/vms/{vmid}" for vmid in sorted(self.vms)] + [
            f"/storage/{storeid}" for storeid in sorted(self.storages)
        ]


@dataclass(frozen=True)
class Token:
    """An API token; `tokenid` is the full `user@realm!name`."""

    tokenid: str
    privsep: bool = True
    expire: int = 0
    comment: str = ""

    def __post_init__(self) -> None:
        split_tokenid(self.tokenid)

    @property
    def userid(self) -> str:
        return split_tokenid(self.tokenid)[0]

    @property
    def name(self) -> str:
        return split_tokenid(self.tokenid)[1]


@dataclass
class _PathGrants:
    """ACL entries at one path: subject -> role -> propagate."""

    principals: dict[str, dict[str, bool]] = field(default_factory=dict)
    groups: dict[str, dict[str, bool]] = field(default_factory=dict)


_NO_GROUPS: frozenset[str] = frozenset()


class AccessModel:
    """An immutable snapshot of users' groups, roles, ACL entries, pools and tokens.

    Indexes are built once so each check costs a dict lookup per path level; results are
    memoised per (principal, path) because the model never changes.
    """

    def __init__(
        self,
        *,
        acl: Sequence[AclEntry] = (),
        groups: Mapping[str, frozenset[str]] = MappingProxyType({}),
        custom_roles: Mapping[str, frozenset[str]] = MappingProxyType({}),
        pools: Mapping[str, Pool] = MappingProxyType({}),
        tokens: Mapping[str, Token] = MappingProxyType({}),
    ) -> None:
        self.acl: tuple[AclEntry, ...] = tuple(acl)
        self.groups: Mapping[str, frozenset[str]] = MappingProxyType(
            {name: frozenset(members) for name, members in groups.items()}
        )
        # Built-ins are applied last: a custom role can never redefine them.
        self.roles: Mapping[str, frozenset[str]] = MappingProxyType(
            {**{n: frozenset(p) for n, p in custom_roles.items()}, **BUILTIN_ROLES}
        )
        self.pools: Mapping[str, Pool] = MappingProxyType(dict(pools))
        self.tokens: Mapping[str, Token] = MappingProxyType(dict(tokens))

        self._grants_by_path: dict[str, _PathGrants] = {}
        for entry in self.acl:
            grants = self._grants_by_path.setdefault(entry.path, _PathGrants())
            if entry.group is not None:
                grants.groups.setdefault(entry.group, {})[entry.role] = entry.propagate
            else:
                grants.principals.setdefault(entry.subject, {})[entry.role] = entry.propagate

        groups_of_user: dict[str, set[str]] = {}
        for group, members in self.groups.items():
            for member in members:
                groups_of_user.setdefault(member, set()).add(group)
        self._groups_of_user = {user: frozenset(names) for user, names in groups_of_user.items()}

        pools_by_member: dict[str, list[str]] = {}
        for pool in self.pools.values():
            for member_path in pool.member_paths():
                pools_by_member.setdefault(member_path, []).append(pool.name)
        self._pools_by_member_path = {path: tuple(names) for path, names in pools_by_member.items()}

        self._role_cache: dict[tuple[str, str], Mapping[str, bool]] = {}
        self._privilege_cache: dict[tuple[str, str], frozenset[str]] = {}

    def groups_of(self, userid: str) -> frozenset[str]:
        """Groups the user is a member of."""
        return self._groups_of_user.get(userid, _NO_GROUPS)

    def roles_at(self, principal: str, path: str) -> frozenset[str]:
        """The roles `PVE::AccessControl::roles()` reports: ACLs only, no pools."""
        return frozenset(self._role_flags(principal, path))

    def privileges_at(self, principal: str, path: str) -> frozenset[str]:
        """The effective privileges `PVE::RPCEnvironment::permissions()` computes.

        Raises ValueError for a path PVE cannot normalise.
        """
        if principal == ROOT_USERID:
            return _ALL_PRIVILEGES
        normalized = normalize_acl_path(path) if path else path
        key = (principal, normalized)
        cached = self._privilege_cache.get(key)
        if cached is None:
            cached = self._privileges_uncached(principal, normalized)
            self._privilege_cache[key] = cached
        return cached

    def has_privileges(
        self, principal: str, path: str, privs: Iterable[str], *, any_: bool = False
    ) -> bool:
        """All of `privs` (or at least one with `any_`) on `path`; unknown names raise."""
        wanted = list(privs)
        for privilege in wanted:
            if privilege not in _ALL_PRIVILEGES:
                raise ValueError(f"invalid privilege '{privilege}'")
        held = self.privileges_at(principal, path)
        if any_:
            return any(privilege in held for privilege in wanted)
        return all(privilege in held for privilege in wanted)

    def permission_tree(self, principal: str) -> dict[str, frozenset[str]]:
        """Non-empty privileges per path, as `GET /access/permissions` lists them.

        Paths are the default top-level ones, every node of the ACL tree (with its ancestors)
        and every pool member.
        """
        paths = set(DEFAULT_PERMISSION_PATHS)
        for acl_path in self._grants_by_path:
            paths.update(path_levels(acl_path))
        paths.update(self._pools_by_member_path)
        tree = {}
        for path in sorted(paths):
            privileges = self.privileges_at(principal, path)
            if privileges:
                tree[path] = privileges
        return tree

    def _role_flags(self, principal: str, path: str) -> Mapping[str, bool]:
        """Role -> propagate flag at `path`, the walk of FACTS 11.4."""
        if principal == ROOT_USERID:
            return {ADMINISTRATOR: True}
        key = (principal, path)
        cached = self._role_cache.get(key)
        if cached is None:
            cached = MappingProxyType(self._role_flags_uncached(principal, path))
            self._role_cache[key] = cached
        return cached

    def _role_flags_uncached(self, principal: str, path: str) -> dict[str, bool]:
        if is_tokenid(principal):
            token = self.tokens.get(principal)
            if token is None:
                return {}
            if not token.privsep:
                return dict(self._role_flags(token.userid, path))
            # A privsep token is in no group; only entries naming the token apply.
            member_of = _NO_GROUPS
        else:
            member_of = self.groups_of(principal)

        roles: dict[str, bool] = {}
        levels = path_levels(path)
        for depth, level in enumerate(levels):
            grants = self._grants_by_path.get(level)
            if grants is None:
                continue
            is_final = depth == len(levels) - 1
            applying = _applicable(grants.principals.get(principal, {}), is_final=is_final)
            if not applying:
                # User entries beat group entries, but only if one of them applies here.
                applying = {}
                for group in member_of.intersection(grants.groups):
                    applying.update(_applicable(grants.groups[group], is_final=is_final))
            if applying:
                roles = applying  # deeper levels replace, never merge
        if NO_ACCESS in roles:
            return {NO_ACCESS: roles[NO_ACCESS]}
        return roles

    def _privileges_uncached(self, principal: str, path: str) -> frozenset[str]:
        if is_tokenid(principal):
            token = self.tokens.get(principal)
            if token is None:
                return frozenset()
            owner_privileges = self.privileges_at(token.userid, path)
            if not token.privsep:
                return owner_privileges
            return self._compile_privileges(principal, path) & owner_privileges
        if not is_userid(principal):
            return frozenset()
        return self._compile_privileges(principal, path)

    def _compile_privileges(self, principal: str, path: str) -> frozenset[str]:
        roles = dict(self._role_flags(principal, path))
        pool_roles: set[str] = set()
        for pool_name in self._pools_by_member_path.get(path, ()):
            pool_roles.update(self._role_flags(principal, f"/pool/{pool_name}"))
        if pool_roles and NO_ACCESS not in roles:
            if NO_ACCESS in pool_roles:
                roles = {NO_ACCESS: False}  # a pool NoAccess beats the regular ACL
            else:
                for role in pool_roles:
                    roles.setdefault(role, False)  # pool roles never propagate
        privileges: set[str] = set()
        for role in roles:
            privileges.update(self.roles.get(role, ()))
        return frozenset(privileges)


def _applicable(role_flags: Mapping[str, bool], *, is_final: bool) -> dict[str, bool]:
    """Entries that count at this level: all on the target path, propagating ones above it."""
    return {role: propagate for role, propagate in role_flags.items() if is_final or propagate}
