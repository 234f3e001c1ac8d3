"""Django authentication backend: checks `name@realm` against the realm's own password source."""

import logging

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from apps.identity.models import Realm, User
from apps.identity.realms import pam
from apps.identity.realms.directory import Directory, DirectoryError
from apps.identity.realms.options import option_value
from pvecore.ids import is_userid, split_userid

logger = logging.getLogger(__name__)


class RealmBackend(BaseBackend):
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: object,
    ) -> User | None:
        if not username or password is None or not is_userid(username):
            return None
        name, realm_name = split_userid(username)
        realm = Realm.objects.filter(name=realm_name, enabled=True).first()
        # PVE's `case-sensitive` realm option (on by default): off, ALICE logs in as alice.
        case_insensitive = (
            realm is not None
            and realm.type in (Realm.Type.LDAP, Realm.Type.AD)
            and option_value(realm.type, realm.options, "case-sensitive") is False
        )
        same_name = {"username__iexact" if case_insensitive else "username": username}
        user = User.objects.select_related("realm").filter(realm=realm, **same_name).first()
        if user is None:
            # Same cost as a real check, so timing does not tell whether the user exists.
            User().set_password(password)
            return None
        if not (user.is_active and not user.is_expired()):
            User().set_password(password)  # same cost as a real check: timing reveals nothing
            return None
        if not _password_ok(user, name, password):
            return None
        return user

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.select_related("realm").filter(pk=user_id).first()
        if user is None or not user.is_active or not user.realm.enabled or user.is_expired():
            return None
        return user


def _password_ok(user: User, name: str, password: str) -> bool:
    realm = user.realm
    if realm.type == Realm.Type.PVE:
        if not user.has_usable_password():  # invited, not yet set: as costly as a real check
            User().set_password(password)
            return False
        return user.check_password(password)
    if realm.type == Realm.Type.PAM:
        return pam.check_password(realm, name, password)
    if realm.type == Realm.Type.OPENID:
        return False  # OpenID Connect users sign in at their identity provider, never here
    try:
        return Directory(realm).check_password(name, password)
    except DirectoryError:
        logger.warning("realm %s unreachable during login of %s", realm.name, user.username)
        return False
