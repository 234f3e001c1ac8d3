"""Moving access data between the database and PVE's user.cfg format (pvecore.usercfg).

- Export writes users, tokens, groups, pools, custom roles and ACL entries as PVE would.
- Import merges a user.cfg into the database through the services (so it is validated and
  audited), in one transaction: missing users are created, existing ones are left as they are;
  groups, roles and pools take the file's members, comment and privileges; tokens and ACL
  entries are added (entries on paths PVE's API refuses, like `/users`, are reported and
  skipped). Nothing absent from the file is deleted. Every user's realm must already
  exist (`pve` and `pam` always do), otherwise nothing is imported. A user's `keys` field
  (Yubico ids) has no portal counterpart and is not kept. `root@pam` is implicit in
  PVE and never imported. Tokens arrive without secrets (those live in PVE's token.cfg), so an
  imported token cannot authenticate until it is deleted and created again.
- Evaluation answers `roles()`/`permissions()` questions against a user.cfg alone, without the
  database.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.access import services
from apps.access.compiled import pve_acl_entries
from apps.access.models import ApiToken, Group, Pool, PoolGuest, PoolStorage, Role
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import Realm, User
from pvecore import acl as pve
from pvecore import usercfg
from pvecore.acl import ROOT_USERID
from pvecore.ids import split_tokenid, split_userid
from pvecore.paths import is_valid_acl_path


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0


def _moment(epoch: int) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None


# Export -------------------------------------------------------------------------------------------


def export_usercfg() -> str:
    """The database's access data as user.cfg text."""
    users = {
        user.username: usercfg.User(
            enable=user.is_active,
            expire=_epoch(user.expire),
            firstname=user.first_name,
            lastname=user.last_name,
            email=user.email,
            comment=user.comment,
        )
        for user in User.objects.all()
    }
    members: dict[str, set[str]] = {}
    for name, userid in Group.objects.values_list("name", "members__username"):
        members.setdefault(name, set())
        if userid is not None:
            members[name].add(userid)
    vms: dict[str, set[int]] = {}
    for pool_name, vmid in PoolGuest.objects.values_list("pool__name", "vmid"):
        vms.setdefault(pool_name, set()).add(vmid)
    storages: dict[str, set[str]] = {}
    for pool_name, storage in PoolStorage.objects.values_list("pool__name", "storage"):
        storages.setdefault(pool_name, set()).add(storage)
    cfg = usercfg.UserConfig(
        users=users,
        groups={
            name: usercfg.Group(frozenset(members[name]), comment)
            for name, comment in Group.objects.values_list("name", "comment")
        },
        custom_roles={
            name: frozenset(privileges)
            for name, privileges in Role.objects.values_list("name", "privileges")
        },
        acl=pve_acl_entries(),
        pools={
            name: pve.Pool(
                name, frozenset(vms.get(name, ())), frozenset(storages.get(name, ())), comment
            )
            for name, comment in Pool.objects.values_list("name", "comment")
        },
        tokens={
            token.tokenid: pve.Token(
                token.tokenid, token.privsep, _epoch(token.expire), token.comment
            )
            for token in ApiToken.objects.select_related("user")
        },
    )
    return usercfg.render_user_cfg(cfg)


# Import -------------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    acl_entries: int = 0

    def note(self, kind: str, name: str, *, created: bool) -> None:
        (self.created if created else self.updated).setdefault(kind, []).append(name)

    def as_dict(self) -> dict[str, object]:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "acl_entries": self.acl_entries,
        }


def _check_realms(cfg: usercfg.UserConfig) -> None:
    wanted = {split_userid(userid)[1] for userid in cfg.users if userid != ROOT_USERID}
    missing = wanted - set(Realm.objects.filter(name__in=wanted).values_list("name", flat=True))
    if missing:
        raise ValidationError(
            f"realm(s) {', '.join(sorted(missing))} do not exist: add them first "
            "(pveum realm add); nothing was imported"
        )


def _import_users(cfg: usercfg.UserConfig, actor: Actor, report: ImportReport) -> None:
    existing = set(User.objects.filter(username__in=cfg.users).values_list("username", flat=True))
    for userid, entry in sorted(cfg.users.items()):
        if userid == ROOT_USERID:
            report.skipped.append(f"{ROOT_USERID} (implicit)")
            continue
        if userid in existing:
            continue
        services.account_add(
            userid=userid,
            email=entry.email,
            firstname=entry.firstname,
            lastname=entry.lastname,
            enabled=entry.enable,
            expire=_moment(entry.expire),
            comment=entry.comment,
            actor=actor,
        )
        report.note("users", userid, created=True)


def _import_roles(cfg: usercfg.UserConfig, actor: Actor, report: ImportReport) -> None:
    existing = dict(Role.objects.values_list("name", "privileges"))
    for name, privileges in sorted(cfg.custom_roles.items()):
        if name not in existing:
            services.role_create(name=name, privileges=privileges, actor=actor)
            report.note("roles", name, created=True)
        elif set(existing[name]) != privileges:
            services.role_modify(name=name, privileges=privileges, actor=actor)
            report.note("roles", name, created=False)


def _import_groups(cfg: usercfg.UserConfig, actor: Actor, report: ImportReport) -> None:
    wanted_ids = {userid for group in cfg.groups.values() for userid in group.members}
    users = {user.username: user for user in User.objects.filter(username__in=wanted_ids)}
    for name, entry in sorted(cfg.groups.items()):
        members = [users[userid] for userid in sorted(entry.members) if userid in users]
        report.skipped += [
            f"member {userid} of group {name} (no such user)"
            for userid in sorted(entry.members)
            if userid not in users
        ]
        group = Group.objects.filter(name=name).first()
        if group is None:
            services.group_create(name=name, comment=entry.comment, members=members, actor=actor)
            report.note("groups", name, created=True)
        else:
            services.group_modify(group=group, comment=entry.comment, members=members, actor=actor)
            report.note("groups", name, created=False)


def _import_pools(cfg: usercfg.UserConfig, actor: Actor, report: ImportReport) -> None:
    # Parents first: a nested pool needs its parent.
    for name in sorted(cfg.pools, key=lambda pool_name: pool_name.count("/")):
        entry = cfg.pools[name]
        pool = Pool.objects.filter(name=name).first()
        if pool is None:
            services.pool_create(
                name=name,
                comment=entry.comment,
                vmids=entry.vms,
                storages=entry.storages,
                actor=actor,
            )
        else:
            services.pool_modify(
                pool=pool,
                comment=entry.comment,
                vmids=entry.vms,
                storages=entry.storages,
                allow_move=True,
                actor=actor,
            )
        report.note("pools", name, created=pool is None)


def _import_tokens(cfg: usercfg.UserConfig, actor: Actor, report: ImportReport) -> None:
    for tokenid, entry in sorted(cfg.tokens.items()):
        userid, name = split_tokenid(tokenid)
        user = User.objects.filter(username=userid).first()
        if user is None:
            report.skipped.append(f"token {tokenid} (no such user)")
            continue
        if ApiToken.objects.filter(user=user, name=name).exists():
            continue
        services.token_import(
            user=user,
            name=name,
            privsep=entry.privsep,
            expire=_moment(entry.expire),
            comment=entry.comment,
            actor=actor,
        )
        report.note("tokens", tokenid, created=True)


def _import_acl(cfg: usercfg.UserConfig, actor: Actor, report: ImportReport) -> None:
    # One service call per (path, role, propagate), with all its subjects.
    batches: dict[tuple[str, str, bool], dict[str, list[str]]] = {}
    for entry in cfg.acl:
        if entry.user == ROOT_USERID:
            continue  # root@pam holds everything anyway and is never imported
        if not is_valid_acl_path(entry.path):
            # PVE's parser keeps these, but its API would refuse them: report, don't import.
            report.skipped.append(f"acl {entry.path} {entry.subject} {entry.role} (invalid path)")
            continue
        subjects = batches.setdefault(
            (entry.path, entry.role, entry.propagate), {"users": [], "groups": [], "tokens": []}
        )
        if entry.group is not None:
            subjects["groups"].append(entry.group)
        elif entry.token is not None:
            subjects["tokens"].append(entry.token)
        else:
            subjects["users"].append(entry.user)
    for (path, role, propagate), subjects in sorted(batches.items()):
        report.acl_entries += services.acl_modify(
            path=path, roles=[role], propagate=propagate, actor=actor, **subjects
        )


def import_usercfg(*, text: str, actor: Actor = SYSTEM) -> ImportReport:
    """Merge a user.cfg into the database; all or nothing."""
    cfg = usercfg.parse_user_cfg(text)
    report = ImportReport()
    with transaction.atomic():
        _check_realms(cfg)
        _import_users(cfg, actor, report)
        _import_roles(cfg, actor, report)
        _import_groups(cfg, actor, report)
        _import_pools(cfg, actor, report)
        _import_tokens(cfg, actor, report)
        _import_acl(cfg, actor, report)
        audit_record(action="access.usercfg_imported", actor=actor, detail=report.as_dict())
    return report


# Evaluation without a database --------------------------------------------------------------------


def evaluate_requests(*, usercfg_text: str, requests: Iterable[str]) -> Iterator[dict[str, object]]:
    """For each JSON line `{"subject": ..., "path": ...}`, the roles (PVE's `roles()`) and
    privileges (`permissions()`) of the subject on the path, sorted. Users or tokens; account
    state (enable, expire) is not considered, as in PVE's evaluation itself."""
    model = usercfg.parse_user_cfg(usercfg_text).access_model()
    for number, line in enumerate(requests, start=1):
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            subject, path = str(request["subject"]), str(request["path"])
            answer = {
                "subject": subject,
                "path": path,
                "roles": sorted(model.roles_at(subject, path)),
                "privileges": sorted(model.privileges_at(subject, path)),
            }
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"line {number}: {error!s}") from None
        yield answer
