"""Invalidation hooks: the compiled access model is rebuilt after changes that bypass services.

Services call `access_changed()` themselves. These hooks catch what does not go through them:
realm sync and the admin's member widget set `Group.members` directly, and deletes cascade
(a user's ACL entries, tokens and memberships vanish with the user). Without them a re-created
user id could inherit the grants of the deleted one from a stale model.
"""

from django.db.models.signals import m2m_changed, post_delete
from django.dispatch import receiver

from apps.access.compiled import access_changed
from apps.access.models import AclEntry, ApiToken, Group, Pool, PoolGuest, PoolStorage, Role
from apps.identity.models import User

_MEMBERSHIP_CHANGES = frozenset({"post_add", "post_remove", "post_clear"})
_GRANT_HOLDERS = (User, Group, Role, AclEntry, ApiToken, Pool, PoolGuest, PoolStorage)


@receiver(m2m_changed, sender=Group.members.through, dispatch_uid="access_group_members")
def group_members_changed(action: str, **_kwargs: object) -> None:
    if action in _MEMBERSHIP_CHANGES:
        access_changed()


def _grant_holder_deleted(**_kwargs: object) -> None:
    access_changed()


for _model in _GRANT_HOLDERS:
    post_delete.connect(
        _grant_holder_deleted,
        sender=_model,
        dispatch_uid=f"access_deleted_{_model._meta.label_lower}",
    )
