"""Realm sync for LDAP and AD, like `pveum realm sync`.

Users become `<name>@<realm>`, groups `<name>-<realm>`. `remove_vanished` takes PVE's values:
`entry` deletes users and groups gone from the directory, `acl` removes their ACL entries,
`properties` clears synced properties the directory no longer has. A dry run reports the same
changes and writes nothing.
"""

from dataclasses import dataclass, field
from typing import Literal

from django.db import transaction
from django.utils import timezone

from apps.access.compiled import access_changed
from apps.access.models import Group
from apps.access.services import acl_remove_subject
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import Realm, User
from apps.identity.realms.directory import Directory, DirectoryUser
from apps.identity.realms.options import option_value
from pvecore.guestconfig import parse_property_string

Scope = Literal["users", "groups", "both"]
REMOVE_VANISHED_CHOICES = frozenset({"acl", "entry", "properties"})
SYNCED_PROPERTIES = {"email": "email", "firstname": "first_name", "lastname": "last_name"}


@dataclass
class SyncReport:
    realm: str
    dry_run: bool
    users_added: list[str] = field(default_factory=list)
    users_updated: list[str] = field(default_factory=list)
    users_removed: list[str] = field(default_factory=list)
    groups_added: list[str] = field(default_factory=list)
    groups_updated: list[str] = field(default_factory=list)
    groups_removed: list[str] = field(default_factory=list)
    acls_removed_for: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def realm_sync(
    *,
    realm: Realm,
    scope: Scope = "both",
    enable_new: bool = True,
    remove_vanished: frozenset[str] = frozenset(),
    dry_run: bool = False,
    actor: Actor = SYSTEM,
) -> SyncReport:
    unknown = set(remove_vanished) - REMOVE_VANISHED_CHOICES
    if unknown:
        raise ValueError(f"remove-vanished: unknown value(s) {', '.join(sorted(unknown))}")
    if scope not in ("users", "groups", "both"):
        raise ValueError(f"scope: value '{scope}' does not have a value in 'users, groups, both'")
    directory = Directory(realm)
    # Read the directory before opening the transaction: no database locks during network I/O.
    directory_users = directory.list_users()
    directory_groups = directory.list_groups() if scope in ("groups", "both") else []
    report = SyncReport(realm=realm.name, dry_run=dry_run)
    with transaction.atomic():
        users_by_dn = _sync_users(
            realm, directory_users, scope, enable_new, remove_vanished, report, actor
        )
        if scope in ("groups", "both"):
            _sync_groups(realm, directory_groups, users_by_dn, remove_vanished, report, actor)
        audit_record(
            action="identity.realm_synced",
            actor=actor,
            target=f"/access/realm/{realm.name}",
            detail=report.as_dict(),
        )
        if dry_run:
            transaction.set_rollback(True)
        else:
            Realm.objects.filter(pk=realm.pk).update(last_synced_at=timezone.now())
            # Removed users and groups take their grants with them, in every process.
            access_changed()
    return report


def realm_sync_with_defaults(
    *, realm: Realm, actor: Actor = SYSTEM, dry_run: bool = False
) -> SyncReport:
    """A sync with the realm's `sync-defaults-options`, as scheduled realm-sync jobs run it."""
    defaults = parse_property_string(
        str(option_value(realm.type, realm.options, "sync-defaults-options") or "")
    )
    remove_vanished = defaults.get("remove-vanished", "none")
    return realm_sync(
        realm=realm,
        scope=defaults.get("scope", "both"),
        enable_new=defaults.get("enable-new", "1") not in ("0", "false"),
        remove_vanished=frozenset()
        if remove_vanished == "none"
        else frozenset(remove_vanished.split(";")),
        dry_run=dry_run,
        actor=actor,
    )


def _userid(realm: Realm, name: str) -> str:
    return f"{name}@{realm.name}"


def _sync_users(
    realm: Realm,
    found: list[DirectoryUser],
    scope: Scope,
    enable_new: bool,
    remove_vanished: frozenset[str],
    report: SyncReport,
    actor: Actor,
) -> dict[str, User]:
    existing = {user.username: user for user in User.objects.filter(realm=realm)}
    users_by_dn: dict[str, User] = {}
    for entry in found:
        userid = _userid(realm, entry.name)
        user = existing.get(userid)
        if scope in ("users", "both"):
            user = _apply_user(realm, userid, user, entry, enable_new, remove_vanished, report)
        if user is not None:
            users_by_dn[entry.dn.lower()] = user
    if scope in ("users", "both"):
        found_ids = {_userid(realm, entry.name) for entry in found}
        for userid, user in sorted(existing.items()):
            if userid in found_ids:
                continue
            if "acl" in remove_vanished:
                acl_remove_subject(user=user, actor=actor)
                report.acls_removed_for.append(userid)
            if "entry" in remove_vanished:
                user.delete()
                report.users_removed.append(userid)
    return users_by_dn


def _apply_user(
    realm: Realm,
    userid: str,
    user: User | None,
    entry: DirectoryUser,
    enable_new: bool,
    remove_vanished: frozenset[str],
    report: SyncReport,
) -> User:
    if user is None:
        user = User(username=userid, realm=realm, tenant=realm.tenant, is_active=enable_new)
        user.set_unusable_password()
        for prop, model_field in SYNCED_PROPERTIES.items():
            setattr(user, model_field, entry.properties.get(prop, ""))
        user.full_clean()
        user.save()
        report.users_added.append(userid)
        return user
    changed = False
    for prop, model_field in SYNCED_PROPERTIES.items():
        if prop in entry.properties:
            new_value = entry.properties[prop]
        elif "properties" in remove_vanished:
            new_value = ""
        else:
            continue
        if getattr(user, model_field) != new_value:
            setattr(user, model_field, new_value)
            changed = True
    if changed:
        user.save(update_fields=list(SYNCED_PROPERTIES.values()))
        report.users_updated.append(userid)
    return user


def _sync_groups(
    realm: Realm,
    found: list,
    users_by_dn: dict[str, User],
    remove_vanished: frozenset[str],
    report: SyncReport,
    actor: Actor,
) -> None:
    existing = {group.name: group for group in Group.objects.filter(synced_from_realm=realm)}
    found_names = set()
    for entry in found:
        name = f"{entry.name}-{realm.name}"
        found_names.add(name)
        members = {users_by_dn[dn].pk for dn in entry.member_dns if dn in users_by_dn}
        group = existing.get(name) or Group.objects.filter(name=name).first()
        if group is None:
            group = Group.objects.create(name=name, synced_from_realm=realm)
            group.members.set(members)
            report.groups_added.append(name)
            continue
        current = set(group.members.values_list("pk", flat=True))
        if current != members:
            group.members.set(members)
            report.groups_updated.append(name)
    for name, group in sorted(existing.items()):
        if name in found_names:
            continue
        if "acl" in remove_vanished:
            acl_remove_subject(group=group, actor=actor)
            report.acls_removed_for.append(name)
        if "entry" in remove_vanished:
            group.delete()
            report.groups_removed.append(name)
