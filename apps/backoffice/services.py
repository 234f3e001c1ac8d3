"""The back-office's realm actions. Tenants, operations and clusters have their services in
their own apps; the views call those directly."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from apps.access.engine import Principal, audit_actor
from apps.identity.models import Realm
from apps.identity.realms.directory import Directory, DirectoryError
from apps.identity.realms.openid import DiscoveryError, discovery_check
from apps.identity.services.sync import SyncReport, realm_sync_with_defaults

DIRECTORY_TYPES = (Realm.Type.LDAP, Realm.Type.AD)


@dataclass(frozen=True)
class RealmTestResult:
    ok: bool
    detail: str


def realm_connection_test(*, realm: Realm) -> RealmTestResult:
    """Reach a directory realm with its service account and search its users, as a sync would,
    or an OpenID Connect realm's provider as a sign-in would; a failure is a result, not an
    error. Built-in and PAM realms have nothing to reach."""
    if realm.type == Realm.Type.OPENID:
        return _openid_test(realm)
    if realm.type not in DIRECTORY_TYPES:
        return RealmTestResult(
            ok=True, detail=_("A %(type)s realm has no server to reach.") % {"type": realm.type}
        )
    try:
        users = Directory(realm).list_users()
    except DirectoryError as error:
        return RealmTestResult(ok=False, detail=str(error))
    return RealmTestResult(
        ok=True, detail=_("Connected: %(count)d users found.") % {"count": len(users)}
    )


def _openid_test(realm: Realm) -> RealmTestResult:
    try:
        document = discovery_check(realm)
    except DiscoveryError as error:
        return RealmTestResult(ok=False, detail=str(error))
    return RealmTestResult(
        ok=True,
        detail=_("The provider answers: sign-in goes to %(endpoint)s.")
        % {"endpoint": document["authorization_endpoint"]},
    )


def realm_sync_now(*, realm: Realm, actor: Principal, dry_run: bool = False) -> SyncReport:
    """Sync a directory realm now with its sync defaults (audited as identity.realm_synced); a
    dry run reports the same changes and writes nothing. Raises ValidationError for other
    realms, DirectoryError when the directory cannot be read."""
    if realm.type not in DIRECTORY_TYPES:
        raise ValidationError(
            _("Only LDAP and Active Directory realms are synced; %(realm)s is %(type)s.")
            % {"realm": realm.name, "type": realm.type}
        )
    try:
        return realm_sync_with_defaults(realm=realm, actor=audit_actor(actor), dry_run=dry_run)
    except ValueError as error:  # unusable sync-defaults-options
        raise ValidationError(str(error)) from error
