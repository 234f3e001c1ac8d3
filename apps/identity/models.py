"""Realms and portal accounts. A user id is PVE's `name@realm`, stored in `username`."""

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.core.fields import EncryptedTextField
from pvecore.ids import REALM_PATTERN, is_userid, split_userid


def validate_userid(value: str) -> None:
    if not is_userid(value):
        raise ValidationError(
            _("'%(value)s' is not a valid user id (name@realm)."), params={"value": value}
        )


class Realm(models.Model):
    """An authentication domain, with PVE's realm types and option names."""

    class Type(models.TextChoices):
        PVE = "pve", _("Portal built-in accounts")
        PAM = "pam", _("Linux PAM (this host)")
        LDAP = "ldap", _("LDAP")
        AD = "ad", _("Active Directory")
        OPENID = "openid", _("OpenID Connect")

    name = models.CharField(
        max_length=64,
        unique=True,
        validators=[RegexValidator(f"^{REALM_PATTERN}$")],
        help_text=_("The part after '@' in user ids, e.g. 'pve' or 'corp-ad'."),
    )
    type = models.CharField(max_length=16, choices=Type.choices)
    comment = models.CharField(max_length=255, blank=True)
    enabled = models.BooleanField(default=True)
    default = models.BooleanField(default=False, help_text=_("Preselected on the login page."))
    tenant = models.ForeignKey(
        "tenancy.Tenant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="realms",
        help_text=_("A tenant's own realm: its users belong to that tenant."),
    )
    tfa_required = models.BooleanField(
        default=False, help_text=_("Every user of this realm must use TOTP (PVE's realm 'tfa').")
    )
    # PVE's option names for the type (server1, base_dn, user_attr, mode, ...), see realm_options.
    options = models.JSONField(default=dict, blank=True)
    bind_password = EncryptedTextField(blank=True)
    # OpenID Connect realms: PVE's `client-key`, the client secret the IdP issued.
    client_key = EncryptedTextField(blank=True)
    sync_interval_minutes = models.PositiveIntegerField(
        default=0, help_text=_("Sync LDAP/AD users and groups this often (0: only on demand).")
    )
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["default"], condition=models.Q(default=True), name="one_default_realm"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who logs in: a tenant's user or an operator (is_staff).

    `username` holds the PVE user id, `name@realm`.
    """

    username = models.CharField(
        _("user id"),
        max_length=64,
        unique=True,
        validators=[validate_userid],
        error_messages={"unique": _("A user with that user id already exists.")},
    )
    realm = models.ForeignKey(Realm, on_delete=models.PROTECT, related_name="users")
    tenant = models.ForeignKey(
        "tenancy.Tenant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("Empty for operators."),
    )
    expire = models.DateTimeField(
        null=True, blank=True, help_text=_("Account expiry (PVE's expire).")
    )
    comment = models.CharField(max_length=255, blank=True)

    REQUIRED_FIELDS = ["email"]

    class Meta(AbstractUser.Meta):
        db_table = "identity_user"

    @property
    def userid(self) -> str:
        return self.username

    @property
    def name_in_realm(self) -> str:
        return split_userid(self.username)[0]

    def is_expired(self, *, now: timezone.datetime | None = None) -> bool:
        return self.expire is not None and self.expire <= (now or timezone.now())


class TotpDevice(models.Model):
    """A user's TOTP authenticator (RFC 6238, 30 s steps, 6 digits, ±1 step accepted)."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp")
    secret = EncryptedTextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last accepted time step: a code of that step or earlier is a replay.
    last_used_step = models.BigIntegerField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    locked_at = models.DateTimeField(null=True, blank=True)
    recovery_failed_attempts = models.PositiveSmallIntegerField(default=0)
    recovery_blocked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"TOTP of {self.user}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None


class RecoveryCode(models.Model):
    """A single-use recovery code, stored as a SHA-256 digest (codes carry 60 random bits)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_digest"], name="unique_recovery_code"),
        ]

    def __str__(self) -> str:
        return f"recovery code of {self.user}"
