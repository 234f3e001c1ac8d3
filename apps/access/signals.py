"""The one signal access control uses: group membership changes invalidate the compiled model.

Services call `access_changed()` themselves; this hook exists because the realm sync (and the
admin's member widget) set `Group.members` directly, outside any access service.
"""

from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from apps.access.compiled import access_changed
from apps.access.models import Group

_MEMBERSHIP_CHANGES = frozenset({"post_add", "post_remove", "post_clear"})


@receiver(m2m_changed, sender=Group.members.through, dispatch_uid="access_group_members")
def group_members_changed(action: str, **_kwargs: object) -> None:
    if action in _MEMBERSHIP_CHANGES:
        access_changed()
