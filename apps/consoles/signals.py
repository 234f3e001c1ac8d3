"""What ends or re-checks open consoles: access changes, logout, a guest's deletion."""

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from apps.access.compiled import access_model_changed
from apps.consoles import notify
from apps.guests.models import Guest


@receiver(access_model_changed, dispatch_uid="consoles_access_changed")
def access_changed(**_kwargs: object) -> None:
    # Sent after the change is committed: every open console re-checks its privilege.
    notify.publish(notify.ACCESS_GROUP, {"type": notify.RECHECK})


@receiver(user_logged_out, dispatch_uid="consoles_logged_out")
def logged_out(request, **_kwargs: object) -> None:
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        notify.publish(
            notify.session_group(session_key), {"type": notify.END, "reason": "signed out"}
        )


@receiver(post_delete, sender=Guest, dispatch_uid="consoles_guest_deleted")
def guest_deleted(instance: Guest, **_kwargs: object) -> None:
    group = notify.guest_group(instance.vmid)
    transaction.on_commit(
        lambda: notify.publish(group, {"type": notify.END, "reason": "the guest was deleted"})
    )
