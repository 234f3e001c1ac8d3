"""After an OpenID Connect realm's IdP vouched for someone: the portal user they are.

Like PVE's `openid` realm: the user is `<username-claim value>@<realm>`, created only with
`autocreate`; with `groups-claim`, the claim's values name groups `<value>-<realm>` (created only
with `groups-autocreate`; `groups-overwrite` drops the user's other groups).
"""

import re
from collections.abc import Mapping

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from apps.access.compiled import access_changed
from apps.access.models import Group
from apps.audit.services import SYSTEM, Actor, audit_record
from apps.identity.models import Realm, User
from apps.identity.realms.openid import claimed_groups, claimed_name
from apps.identity.realms.options import option_value
from pvecore.ids import is_userid

GROUP_NAME = re.compile(r"[A-Za-z0-9.\-_]+")


class OpenIdLoginRefused(Exception):
    """The IdP signed the user in, but the portal does not let them in; says why."""


def openid_login_user(*, realm: Realm, claims: Mapping[str, object], request: HttpRequest) -> User:
    name = claimed_name(realm, claims)
    userid = f"{name}@{realm.name}"
    user = User.objects.select_related("realm").filter(username=userid).first()
    refusal = _refusal(realm, name, userid, user)
    if refusal:
        audit_record(
            action="identity.login_failed",
            actor=Actor.anonymous(userid),
            target=userid,
            request=request,
            detail={"realm": realm.name, "reason": refusal},
        )
        raise OpenIdLoginRefused(refusal)
    with transaction.atomic():
        if user is None:
            user = _create_user(realm, userid, claims)
        if option_value(realm.type, realm.options, "groups-claim"):
            _apply_groups(realm, user, claimed_groups(realm, claims))
    return user


def _refusal(realm: Realm, name: str, userid: str, user: User | None) -> str:
    if not name or not is_userid(userid):
        return _("The identity provider did not send a usable user name.")
    if user is None and not option_value(realm.type, realm.options, "autocreate"):
        return _("%(userid)s has no account in the portal. Ask an administrator to create it.") % {
            "userid": userid
        }
    if user is not None and (not user.is_active or user.is_expired()):
        return _("The account %(userid)s is disabled or expired.") % {"userid": userid}
    return ""


def _create_user(realm: Realm, userid: str, claims: Mapping[str, object]) -> User:
    def text(claim: str) -> str:
        value = claims.get(claim)
        return value if isinstance(value, str) else ""

    user = User(
        username=userid,
        realm=realm,
        tenant=realm.tenant,
        email=text("email"),
        first_name=text("given_name")[:150],
        last_name=text("family_name")[:150],
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    audit_record(
        action="identity.user_created",
        actor=SYSTEM,
        target=userid,
        detail={"realm": realm.name, "autocreate": True},
    )
    return user


def _apply_groups(realm: Realm, user: User, values: list[str]) -> None:
    names = {
        f"{value}-{realm.name}"
        for value in values
        if GROUP_NAME.fullmatch(f"{value}-{realm.name}") and len(value) + len(realm.name) < 64
    }
    existing = {group.name: group for group in Group.objects.filter(name__in=names)}
    if option_value(realm.type, realm.options, "groups-autocreate"):
        for name in sorted(names - existing.keys()):
            existing[name] = Group.objects.create(name=name, synced_from_realm=realm)
            audit_record(
                action="access.group_created", actor=SYSTEM, target=f"/access/groups/{name}"
            )
    wanted = set(existing.values())
    current = set(user.access_groups.all())
    removed = (
        current - wanted if option_value(realm.type, realm.options, "groups-overwrite") else set()
    )
    added = wanted - current
    if not (added or removed):
        return
    user.access_groups.add(*added)
    user.access_groups.remove(*removed)
    audit_record(
        action="identity.user_groups_claimed",
        actor=SYSTEM,
        target=user.username,
        detail={
            "added": sorted(group.name for group in added),
            "removed": sorted(group.name for group in removed),
        },
    )
    access_changed()
