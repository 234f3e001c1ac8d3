"""Access control as in PVE: groups, roles, ACL entries, pools and API tokens."""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Group(models.Model):
    """A PVE group (`/access/groups/{name}`); realm sync names its groups `<name>-<realm>`."""

    name = models.CharField(max_length=64, unique=True)
    comment = models.CharField(max_length=255, blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="access_groups", blank=True
    )
    # Set when a realm sync created the group, so remove-vanished only touches its own groups.
    synced_from_realm = models.ForeignKey(
        "identity.Realm",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="groups",
        help_text=_("The realm whose sync manages this group."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A custom role. Built-in roles come from pvecore and are never rows, so never editable."""

    name = models.CharField(max_length=64, unique=True)
    privileges = models.JSONField(default=list, blank=True, help_text=_("Sorted privilege names."))

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AclEntry(models.Model):
    """`(path, subject, role, propagate)`: the subject is exactly one of user, group or token."""

    path = models.CharField(
        max_length=255, help_text=_("A normalised PVE ACL path, e.g. /vms/100.")
    )
    role = models.CharField(max_length=64, help_text=_("A built-in or custom role name."))
    propagate = models.BooleanField(default=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="acl_entries",
    )
    group = models.ForeignKey(
        Group, null=True, blank=True, on_delete=models.CASCADE, related_name="acl_entries"
    )
    token = models.ForeignKey(
        "access.ApiToken",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="acl_entries",
    )

    class Meta:
        ordering = ["path", "id"]
        verbose_name = _("ACL entry")
        verbose_name_plural = _("ACL entries")
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, group__isnull=True, token__isnull=True)
                    | models.Q(user__isnull=True, group__isnull=False, token__isnull=True)
                    | models.Q(user__isnull=True, group__isnull=True, token__isnull=False)
                ),
                name="acl_entry_one_subject",
            ),
            models.UniqueConstraint(
                fields=["path", "user", "role"],
                condition=models.Q(user__isnull=False),
                name="acl_entry_unique_user",
            ),
            models.UniqueConstraint(
                fields=["path", "group", "role"],
                condition=models.Q(group__isnull=False),
                name="acl_entry_unique_group",
            ),
            models.UniqueConstraint(
                fields=["path", "token", "role"],
                condition=models.Q(token__isnull=False),
                name="acl_entry_unique_token",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.path} {self.subject} {self.role}"

    @property
    def subject(self) -> str:
        """As user.cfg writes it: a user id, a token id or `@group`."""
        if self.group_id is not None:
            return f"@{self.group.name}"
        if self.token_id is not None:
            return self.token.tokenid
        return self.user.get_username()


class Pool(models.Model):
    """A resource pool (`/pool/{name}`); names may nest up to three levels, `a/b/c`."""

    name = models.CharField(max_length=255, unique=True)
    comment = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PoolGuest(models.Model):
    """A guest in a pool. VMIDs are unique across clusters and a guest is in one pool at most."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="guests")
    vmid = models.PositiveIntegerField(unique=True)

    class Meta:
        ordering = ["vmid"]

    def __str__(self) -> str:
        return f"{self.pool.name}: {self.vmid}"


class PoolStorage(models.Model):
    """A storage in a pool; unlike guests, a storage may be in several pools."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="storages")
    storage = models.CharField(max_length=64)

    class Meta:
        ordering = ["storage"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "storage"], name="pool_storage_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.pool.name}: {self.storage}"


class ApiToken(models.Model):
    """A portal API token `user@realm!name`. Only a SHA-256 digest of its secret is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=64)
    # Empty for tokens imported from a user.cfg, which carries no secrets: they never authenticate.
    secret_digest = models.CharField(max_length=64, blank=True, editable=False)
    privsep = models.BooleanField(
        default=True, help_text=_("Privilege separation: the token needs its own ACL entries.")
    )
    expire = models.DateTimeField(null=True, blank=True, help_text=_("Empty: never expires."))
    comment = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user__username", "name"]
        verbose_name = _("API token")
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="api_token_unique_name"),
        ]

    def __str__(self) -> str:
        return self.tokenid

    @property
    def tokenid(self) -> str:
        return f"{self.user.get_username()}!{self.name}"

    def is_expired(self, *, now: datetime | None = None) -> bool:
        return self.expire is not None and self.expire <= (now or timezone.now())
