"""The access model compiled from the database, cached per process and invalidated on change.

Every check needs pvecore's `AccessModel` of the whole ACL, group, role, pool and token set.
Building it takes a handful of queries, so each process keeps one, tagged with a version number
kept in Django's cache (shared by every web and worker process when Redis is configured).

- Services that change access call `access_changed()` inside their transaction; the version is
  bumped on commit. This process rebuilds on its next check, other processes within
  `VERSION_RECHECK_SECONDS` (they re-read the shared version at most that often).
- Until then, the connection that made the change sees it at once: checks inside that still open
  transaction use a model compiled from what the transaction can see.
"""

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.dispatch import Signal
from redis.exceptions import RedisError

from apps.access.models import AclEntry, ApiToken, Group, Pool, PoolGuest, PoolStorage, Role
from pvecore import acl as pve
from pvecore.privileges import PRIVILEGES

VERSION_KEY = "access:model-version"
# Sent once a change of access is committed (after the version bump), e.g. so that open
# consoles re-check their privilege (apps/consoles).
access_model_changed = Signal()
ALL_PRIVILEGES = frozenset(PRIVILEGES)


class PortalAccessModel(pve.AccessModel):
    """pvecore's model in which portal operators (superusers) stand where root@pam stands.

    Only `privileges_at` changes, so a privilege-separated operator token still gets its own
    ACL intersected with "everything", exactly like a token of root@pam.
    """

    def __init__(self, *, operators: frozenset[str], **parts: object) -> None:
        super().__init__(**parts)
        self.operators = operators

    def privileges_at(self, principal: str, path: str) -> frozenset[str]:
        if principal in self.operators:
            return ALL_PRIVILEGES
        return super().privileges_at(principal, path)

    def acl_privileges_at(self, principal: str, path: str) -> frozenset[str]:
        """What the ACL alone grants, ignoring operator status."""
        return super().privileges_at(principal, path)


@dataclass
class CompiledAccess:
    """A model plus the engine's memos, which live and die with it."""

    model: PortalAccessModel
    # Parent path -> child names the ACL or a pool mentions: "/vms" -> {"100", "101"}.
    mentioned_children: Mapping[str, frozenset[str]]
    # (principal, path as asked, owner is an operator) -> privileges.
    privilege_memo: dict[tuple[str, str, bool], frozenset[str]] = field(default_factory=dict)
    visible_memo: dict[tuple[str, bool, str, str], object] = field(default_factory=dict)


def _epoch(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment is not None else 0


def pve_acl_entries() -> list[pve.AclEntry]:
    """Every ACL entry as pvecore's `AclEntry` (one query)."""
    entries = []
    for (
        path,
        role,
        propagate,
        userid,
        group,
        token_owner,
        token_name,
    ) in AclEntry.objects.values_list(
        "path",
        "role",
        "propagate",
        "user__username",
        "group__name",
        "token__user__username",
        "token__name",
    ):
        if token_name is not None:
            entries.append(pve.AclEntry(path, role, propagate, token=f"{token_owner}!{token_name}"))
        elif group is not None:
            entries.append(pve.AclEntry(path, role, propagate, group=group))
        else:
            entries.append(pve.AclEntry(path, role, propagate, user=userid))
    return entries


def compile_access() -> CompiledAccess:
    """Build the model from the database: eight queries whatever the size."""
    user_model = get_user_model()
    acl = pve_acl_entries()

    members: dict[str, set[str]] = {}
    for group, userid in Group.objects.values_list("name", "members__username"):
        members.setdefault(group, set())
        if userid is not None:
            members[group].add(userid)

    vms: dict[str, set[int]] = {}
    storages: dict[str, set[str]] = {}
    for pool_name, vmid in PoolGuest.objects.values_list("pool__name", "vmid"):
        vms.setdefault(pool_name, set()).add(vmid)
    for pool_name, storage in PoolStorage.objects.values_list("pool__name", "storage"):
        storages.setdefault(pool_name, set()).add(storage)
    pools = {
        name: pve.Pool(name, frozenset(vms.get(name, ())), frozenset(storages.get(name, ())))
        for name in Pool.objects.values_list("name", flat=True)
    }

    tokens = {}
    for owner, name, privsep, expire in ApiToken.objects.values_list(
        "user__username", "name", "privsep", "expire"
    ):
        tokenid = f"{owner}!{name}"
        tokens[tokenid] = pve.Token(tokenid, privsep=privsep, expire=_epoch(expire))

    model = PortalAccessModel(
        operators=frozenset(
            user_model.objects.filter(is_superuser=True).values_list("username", flat=True)
        ),
        acl=acl,
        groups={name: frozenset(userids) for name, userids in members.items()},
        custom_roles={
            name: frozenset(privileges)
            for name, privileges in Role.objects.values_list("name", "privileges")
        },
        pools=pools,
        tokens=tokens,
    )
    return CompiledAccess(model=model, mentioned_children=_mentioned_children(model))


def _mentioned_children(model: pve.AccessModel) -> dict[str, frozenset[str]]:
    children: dict[str, set[str]] = {}
    paths = {entry.path for entry in model.acl}  # normalised by pvecore already
    for pool in model.pools.values():
        paths.update(pool.member_paths())
    for path in paths:
        parent = "/"
        for segment in path.strip("/").split("/"):
            if segment:
                children.setdefault(parent, set()).add(segment)
                parent = f"{parent.rstrip('/')}/{segment}"
    return {parent: frozenset(names) for parent, names in children.items()}


# Version shared by all processes ----------------------------------------------------------------

# Other processes' changes are noticed within this many seconds, this process's own at once: a
# check is then a dict lookup instead of a cache round trip.
VERSION_RECHECK_SECONDS = 1.0


logger = logging.getLogger(__name__)


def shared_version() -> int:
    if _bump_owed:
        _bump()
    try:
        version = cache.get(VERSION_KEY)
        if version is None:
            # Missing (first start, flushed or evicted): a fresh number no process has built for.
            cache.add(VERSION_KEY, time.time_ns(), timeout=None)
            version = cache.get(VERSION_KEY)
    except (RedisError, OSError):
        # The cache is down: no version can be trusted, so every check builds from the
        # database (slower, never stale) until it is back.
        logger.warning("the cache is unreachable; access is read from the database")
        return time.time_ns()
    return version


# Bumped with the shared version, so this process never waits for its own changes.
_generations = count()
_local_generation = next(_generations)


# A bump the cache was down for: paid at this process's next look at the version.
_bump_owed = False


def bump_shared_version() -> None:
    global _local_generation, _bump_owed
    _local_generation = next(_generations)
    _bump_owed = True
    _bump()
    access_model_changed.send(sender=None)


def _bump() -> None:
    global _bump_owed
    try:
        try:
            cache.incr(VERSION_KEY)
        except ValueError:
            cache.set(VERSION_KEY, time.time_ns(), timeout=None)
    except (RedisError, OSError):
        logger.error(
            "the cache is unreachable; other processes see this access change once it is back"
        )
        return
    _bump_owed = False


@dataclass
class _Snapshot:
    version: int
    local_generation: int
    compiled: CompiledAccess
    checked_at: float


_process_snapshot: _Snapshot | None = None


# Changes of the current, still open transaction --------------------------------------------------


@dataclass
class _PendingChanges:
    """Access changes this connection made in a transaction that is still open."""

    commit_callbacks: list[Callable[[], None]] = field(default_factory=list)
    compiled_for: tuple[int, tuple[str, ...]] | None = None
    compiled: CompiledAccess | None = None


# Per thread, like Django's database connections.
_connection_state = threading.local()


def _pending_changes() -> _PendingChanges | None:
    pending: _PendingChanges | None = getattr(_connection_state, "pending", None)
    if pending is None:
        return None
    connection = transaction.get_connection()
    # Django drops the on-commit callbacks of a rolled-back transaction or savepoint; while one
    # of ours is still queued, the changes are uncommitted but visible to this connection.
    queued = {entry[1] for entry in connection.run_on_commit}
    if not connection.in_atomic_block or queued.isdisjoint(pending.commit_callbacks):
        _connection_state.pending = None
        return None
    return pending


def access_changed() -> None:
    """Call in every service that changes roles, ACL entries, groups, pools or tokens."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        bump_shared_version()
        return
    pending = _pending_changes() or _PendingChanges()
    _connection_state.pending = pending

    def committed() -> None:
        _connection_state.pending = None
        bump_shared_version()

    pending.commit_callbacks.append(committed)
    pending.compiled_for = None
    transaction.on_commit(committed)


def current_access() -> CompiledAccess:
    """The compiled model every check uses: a dict lookup once built for the current version."""
    global _process_snapshot
    pending = _pending_changes()
    if pending is not None:
        connection = transaction.get_connection()
        # A savepoint rolled back since the last build may have undone some of the changes.
        key = (len(pending.commit_callbacks), tuple(connection.savepoint_ids))
        if pending.compiled is None or pending.compiled_for != key:
            pending.compiled = compile_access()
            pending.compiled_for = key
        return pending.compiled
    generation = _local_generation
    now = time.monotonic()
    snapshot = _process_snapshot
    if (
        snapshot is not None
        and snapshot.local_generation == generation
        and now - snapshot.checked_at < VERSION_RECHECK_SECONDS
    ):
        return snapshot.compiled
    version = shared_version()  # read before building, so a concurrent change forces a rebuild
    if snapshot is None or snapshot.version != version or snapshot.local_generation != generation:
        snapshot = _Snapshot(version, generation, compile_access(), now)
        _process_snapshot = snapshot
    else:
        snapshot.checked_at = now
    return snapshot.compiled
