"""Portal accounts. Realms and the PVE-style `name@realm` user id build on this model."""

from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """A person who logs in to the portal: a tenant's user or an operator (is_staff)."""

    class Meta(AbstractUser.Meta):
        db_table = "identity_user"
