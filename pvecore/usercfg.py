"""PVE's `/etc/pve/user.cfg`: parse and render it like `parse_user_config`/`write_user_config`.

Line formats (fields separated by ':', list fields split by `split_list`):

    user:<userid>:<enable>:<expire>:<firstname>:<lastname>:<email>:<comment>:<keys>:
    token:<user@realm!name>:<expire>:<privsep>:<comment>:
    group:<name>:<members>:<comment>:
    pool:<name>:<comment>:<vmids>:<storages>:
    role:<name>:<privileges>:
    acl:<propagate>:<path>:<users, @groups, tokens>:<roles>:

Invalid lines and items are skipped the way PVE skips them (it only warns).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from pvecore.acl import ROOT_USERID, AccessModel, AclEntry, Pool, Token
from pvecore.ids import (
    is_tokenid,
    is_userid,
    is_valid_group_name,
    is_valid_pool_name,
    is_valid_role_name,
    split_tokenid,
)
from pvecore.paths import normalize_acl_path, path_levels
from pvecore.privileges import BUILTIN_ROLES, PRIVILEGES
from pvecore.text import decode_text, encode_text, perl_truthy, split_list
from pvecore.volumes import is_valid_storage_id


@dataclass(frozen=True)
class User:
    """A `user:` line. `groups` is filled by the parser; rendering uses `UserConfig.groups`."""

    enable: bool = True
    expire: int = 0
    firstname: str = ""
    lastname: str = ""
    email: str = ""
    comment: str = ""
    keys: str = ""
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Group:
    members: frozenset[str] = frozenset()
    comment: str = ""


@dataclass
class UserConfig:
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    custom_roles: dict[str, frozenset[str]] = field(default_factory=dict)
    acl: list[AclEntry] = field(default_factory=list)
    pools: dict[str, Pool] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)

    def access_model(self) -> AccessModel:
        return AccessModel(
            acl=self.acl,
            groups={name: group.members for name, group in self.groups.items()},
            custom_roles=self.custom_roles,
            pools=self.pools,
            tokens=self.tokens,
        )


def _decoded(value: str) -> str:
    # PVE stores the decoded text only if the raw field is Perl-true.
    return decode_text(value) if perl_truthy(value) else ""


def _expire(value: str) -> int | None:
    if not perl_truthy(value):
        return 0
    return int(value) if value.isascii() and value.isdigit() else None


class _Parser:
    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.group_members: dict[str, set[str]] = {}
        self.group_comments: dict[str, str] = {}
        self.roles: dict[str, set[str]] = {}
        self.acl: dict[tuple[str, str, str], bool] = {}  # (path, subject, role) -> propagate
        self.pool_vms: dict[str, set[int]] = {}
        self.pool_storages: dict[str, set[str]] = {}
        self.pool_comments: dict[str, str] = {}
        self.pool_of_vm: dict[int, str] = {}
        self.tokens: dict[str, Token] = {}

    def parse(self, text: str) -> UserConfig:
        handlers = {
            "user": self._line_user,
            "group": self._line_group,
            "role": self._line_role,
            "acl": self._line_acl,
            "pool": self._line_pool,
            "token": self._line_token,
        }
        for raw_line in text.split("\n"):
            line = raw_line.strip()
            if not line:
                continue
            fields = [part.strip() for part in line.split(":")]
            handler = handlers.get(fields[0])
            if handler is not None:
                # Pad so absent trailing fields read as '' (Perl's undef).
                handler(fields[1:] + [""] * 8)
        if ROOT_USERID not in self.users:
            self.users[ROOT_USERID] = User()  # userconfig_force_defaults
        return self._result()

    def _line_user(self, fields: list[str]) -> None:
        userid, enable, expire_text, firstname, lastname, email, comment, keys = fields[:8]
        expire = _expire(expire_text)
        if not is_userid(userid) or expire is None:
            return
        self.users[userid] = User(
            enable=perl_truthy(enable),
            expire=expire,
            firstname=_decoded(firstname),
            lastname=_decoded(lastname),
            email=email,
            comment=_decoded(comment),
            keys=keys if perl_truthy(keys) else "",
        )

    def _line_group(self, fields: list[str]) -> None:
        name, member_list, comment = fields[:3]
        if not is_valid_group_name(name):
            return
        members = self.group_members.setdefault(name, set())
        if perl_truthy(comment):
            self.group_comments[name] = decode_text(comment)
        # PVE keeps members that are not (yet) defined users; it only warns.
        members.update(userid for userid in split_list(member_list) if is_userid(userid))

    def _line_role(self, fields: list[str]) -> None:
        name, privilege_list = fields[:2]
        if not is_valid_role_name(name) or name in BUILTIN_ROLES:
            return
        privileges = self.roles.setdefault(name, set())
        privileges.update(p for p in split_list(privilege_list) if p in PRIVILEGES)

    def _line_acl(self, fields: list[str]) -> None:
        propagate_text, path_text, subject_list, role_list = fields[:4]
        try:
            path = normalize_acl_path(path_text)
        except ValueError:
            return
        propagate = perl_truthy(propagate_text)
        known_roles = BUILTIN_ROLES.keys() | self.roles.keys()  # defined on earlier lines
        subjects = [s for s in split_list(subject_list) if self._is_acl_subject(s)]
        for role in split_list(role_list):
            if is_valid_role_name(role) and role in known_roles:
                for subject in subjects:
                    self.acl[(path, subject, role)] = propagate

    def _is_acl_subject(self, subject: str) -> bool:
        if subject.startswith("@"):
            return is_valid_group_name(subject[1:])
        # Tokens count only once their `token:` line was read.
        return is_userid(subject) or (is_tokenid(subject) and subject in self.tokens)

    def _line_pool(self, fields: list[str]) -> None:
        name, comment, vm_list, storage_list = fields[:4]
        if not is_valid_pool_name(name):
            return
        vms = self.pool_vms.setdefault(name, set())
        storages = self.pool_storages.setdefault(name, set())
        if perl_truthy(comment):
            self.pool_comments[name] = decode_text(comment)
        for vmid_text in split_list(vm_list):
            if not (vmid_text.isascii() and vmid_text.isdigit()):
                continue
            vmid = int(vmid_text)
            if vmid in self.pool_of_vm:
                continue  # a guest belongs to one pool: the first one listed wins
            vms.add(vmid)
            self.pool_of_vm[vmid] = name
        storages.update(s for s in split_list(storage_list) if is_valid_storage_id(s))

    def _line_token(self, fields: list[str]) -> None:
        tokenid, expire_text, privsep, comment = fields[:4]
        expire = _expire(expire_text)
        if not is_tokenid(tokenid) or expire is None:
            return
        if split_tokenid(tokenid)[0] not in self.users:
            return
        self.tokens[tokenid] = Token(
            tokenid=tokenid,
            # An empty privsep field means off: the API default of 1 is not applied here.
            privsep=perl_truthy(privsep),
            expire=expire,
            comment=_decoded(comment),
        )

    def _result(self) -> UserConfig:
        groups_of_user: dict[str, set[str]] = {}
        for group, members in self.group_members.items():
            for member in members:
                groups_of_user.setdefault(member, set()).add(group)
        users = {
            userid: User(**{**user.__dict__, "groups": frozenset(groups_of_user.get(userid, ()))})
            for userid, user in self.users.items()
        }
        acl = []
        for (path, subject, role), propagate in self.acl.items():
            if subject.startswith("@"):
                acl.append(AclEntry(path, role, propagate, group=subject[1:]))
            elif is_tokenid(subject):
                acl.append(AclEntry(path, role, propagate, token=subject))
            else:
                acl.append(AclEntry(path, role, propagate, user=subject))
        return UserConfig(
            users=users,
            groups={
                name: Group(frozenset(members), self.group_comments.get(name, ""))
                for name, members in self.group_members.items()
            },
            custom_roles={name: frozenset(privs) for name, privs in self.roles.items()},
            acl=acl,
            pools={
                name: Pool(
                    name=name,
                    vms=frozenset(self.pool_vms[name]),
                    storages=frozenset(self.pool_storages[name]),
                    comment=self.pool_comments.get(name, ""),
                )
                for name in self.pool_vms
            },
            tokens=self.tokens,
        )


def parse_user_cfg(text: str) -> UserConfig:
    """Parse user.cfg text. root@pam is always present, as PVE forces it."""
    return _Parser().parse(text)


def _encoded(value: str) -> str:
    return encode_text(value) if perl_truthy(value) else ""


def _truthy_or_empty(value: str) -> str:
    return value if perl_truthy(value) else ""


def _joined_sorted(items: Iterable[object]) -> str:
    # Perl's `sort` compares as strings, so vmid 1000 sorts before 200.
    return ",".join(sorted(str(item) for item in items))


def render_user_cfg(cfg: UserConfig) -> str:
    """Render like `write_user_config`. ACL entries of root@pam are not written (as in PVE)."""
    lines: list[str] = []
    tokens_by_user: dict[str, list[Token]] = {}
    for token in cfg.tokens.values():
        tokens_by_user.setdefault(token.userid, []).append(token)
    for userid in sorted(cfg.users):
        user = cfg.users[userid]
        lines.append(
            f"user:{userid}:{int(user.enable)}:{user.expire}:{_encoded(user.firstname)}:"
            f"{_encoded(user.lastname)}:{_truthy_or_empty(user.email)}:{_encoded(user.comment)}:"
            f"{_truthy_or_empty(user.keys)}:"
        )
        for token in sorted(tokens_by_user.get(userid, []), key=lambda t: t.name):
            lines.append(
                f"token:{token.tokenid}:{token.expire}:{int(token.privsep)}:"
                f"{_encoded(token.comment)}:"
            )
    lines.append("")
    for name in sorted(cfg.groups):
        group = cfg.groups[name]
        lines.append(f"group:{name}:{_joined_sorted(group.members)}:{_encoded(group.comment)}:")
    lines.append("")
    for name in sorted(cfg.pools):
        pool = cfg.pools[name]
        lines.append(
            f"pool:{name}:{_encoded(pool.comment)}:{_joined_sorted(pool.vms)}:"
            f"{_joined_sorted(pool.storages)}:"
        )
    lines.append("")
    for name in sorted(cfg.custom_roles):
        if name not in BUILTIN_ROLES:
            lines.append(f"role:{name}:{_joined_sorted(cfg.custom_roles[name])}:")
    lines.append("")
    lines.extend(_acl_lines(cfg.acl))
    return "\n".join(lines) + "\n"


def _acl_lines(entries: list[AclEntry]) -> list[str]:
    # path -> subject -> role -> propagate
    tree: dict[str, dict[str, dict[str, bool]]] = {}
    for entry in entries:
        if entry.user == ROOT_USERID:
            continue  # root@pam is always Administrator; PVE never stores its entries
        tree.setdefault(entry.path, {}).setdefault(entry.subject, {})[entry.role] = entry.propagate
    lines = []
    for path in sorted(tree, key=path_levels):
        # propagate flag -> role list -> subjects
        by_roles: dict[bool, dict[str, set[str]]] = {False: {}, True: {}}
        for subject, roles in tree[path].items():
            for propagate in (False, True):
                role_list = ",".join(sorted(r for r, p in roles.items() if p == propagate))
                if role_list:
                    by_roles[propagate].setdefault(role_list, set()).add(subject)
        for propagate in (False, True):
            for role_list in sorted(by_roles[propagate]):
                subjects = _joined_sorted(by_roles[propagate][role_list])
                lines.append(f"acl:{int(propagate)}:{path}:{subjects}:{role_list}:")
    return lines
