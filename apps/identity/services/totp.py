"""TOTP second factor and recovery codes, with PVE's lockout rules.

- a code is accepted for the current 30 s step and one step either side;
- each step's code is accepted once (replays are refused);
- 8 failed codes lock TOTP until an administrator unlocks it;
- recovery codes are single-use; 100 failed recovery attempts block them for an hour.
"""

import hashlib
import hmac
import io
import secrets
from datetime import timedelta

import pyotp
import qrcode
import qrcode.image.svg
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import Actor, audit_record
from apps.identity.models import RecoveryCode, TotpDevice, User

ISSUER = "Proxmox VE portal"
STEP_SECONDS = 30
ACCEPTED_DRIFT_STEPS = 1
TOTP_FAILURE_LIMIT = 8
RECOVERY_FAILURE_LIMIT = 100
RECOVERY_BLOCK = timedelta(hours=1)
RECOVERY_CODE_COUNT = 10


class TotpError(Exception):
    """A TOTP operation was refused; the message is safe to show to the user."""


def _digest(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").lower().encode()).hexdigest()


def _audit(action: str, *, user: User, actor: Actor | None, request: HttpRequest | None) -> None:
    """`actor` None: the user acted on their own account."""
    audit_record(
        action=action, actor=actor or Actor.user(user), target=user.username, request=request
    )


def totp_is_active(user: User) -> bool:
    return TotpDevice.objects.filter(user=user, confirmed_at__isnull=False).exists()


def totp_required(user: User) -> bool:
    """The user's realm or tenant enforces a second factor."""
    return user.realm.tfa_required or (user.tenant is not None and user.tenant.tfa_required)


def totp_begin_enrolment(*, user: User) -> TotpDevice:
    """A fresh, unconfirmed secret; replaces an earlier unconfirmed one."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is not None and device.is_confirmed:
            raise TotpError(_("TOTP is already set up; remove it before enrolling again."))
        if device is None:
            device = TotpDevice(user=user)
        device.secret = pyotp.random_base32()
        device.last_used_step = None
        device.failed_attempts = 0
        device.save()
    return device


def provisioning_uri(device: TotpDevice) -> str:
    return pyotp.TOTP(device.secret).provisioning_uri(name=device.user.username, issuer_name=ISSUER)


def provisioning_qr_svg(device: TotpDevice) -> str:
    image = qrcode.make(provisioning_uri(device), image_factory=qrcode.image.svg.SvgPathImage)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def _matching_step(secret: str, code: str, *, now: float) -> int | None:
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    for step in range(current - ACCEPTED_DRIFT_STEPS, current + ACCEPTED_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def totp_confirm_enrolment(
    *, user: User, code: str, request: HttpRequest | None = None, now: float | None = None
) -> list[str]:
    """Activate the pending secret with a first valid code; returns fresh recovery codes."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None or device.is_confirmed:
            raise TotpError(_("There is no TOTP enrolment to confirm."))
        step = _matching_step(device.secret, code, now=now or timezone.now().timestamp())
        if step is None:
            raise TotpError(_("That code is not valid. Check the device's clock and try again."))
        device.confirmed_at = timezone.now()
        device.last_used_step = step
        device.save()
        codes = _replace_recovery_codes(user)
        _audit("identity.totp_enrolled", user=user, actor=None, request=request)
    return codes


def totp_verify(
    *, user: User, code: str, request: HttpRequest | None = None, now: float | None = None
) -> bool:
    """Check a login code: refuses replays, counts failures, locks after the eighth."""
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None or not device.is_confirmed or device.is_locked:
            return False
        step = _matching_step(device.secret, code, now=now or timezone.now().timestamp())
        replay = (
            step is not None
            and device.last_used_step is not None
            and (step <= device.last_used_step)
        )
        if step is not None and not replay:
            device.last_used_step = step
            device.failed_attempts = 0
            device.save(update_fields=["last_used_step", "failed_attempts"])
            return True
        device.failed_attempts += 1
        fields = ["failed_attempts"]
        if device.failed_attempts >= TOTP_FAILURE_LIMIT:
            device.locked_at = timezone.now()
            fields.append("locked_at")
            _audit("identity.totp_locked", user=user, actor=None, request=request)
        device.save(update_fields=fields)
    return False


def totp_is_locked(user: User) -> bool:
    return TotpDevice.objects.filter(user=user, locked_at__isnull=False).exists()


def recovery_code_use(*, user: User, code: str, request: HttpRequest | None = None) -> bool:
    with transaction.atomic():
        device = TotpDevice.objects.select_for_update().filter(user=user).first()
        if device is None or not device.is_confirmed:
            return False
        now = timezone.now()
        if device.recovery_blocked_until and device.recovery_blocked_until > now:
            return False
        used = RecoveryCode.objects.filter(
            user=user, code_digest=_digest(code), used_at__isnull=True
        ).update(used_at=now)
        if used:
            device.recovery_failed_attempts = 0
            device.save(update_fields=["recovery_failed_attempts"])
            _audit("identity.recovery_code_used", user=user, actor=None, request=request)
            return True
        device.recovery_failed_attempts += 1
        if device.recovery_failed_attempts >= RECOVERY_FAILURE_LIMIT:
            device.recovery_failed_attempts = 0
            device.recovery_blocked_until = now + RECOVERY_BLOCK
        device.save(update_fields=["recovery_failed_attempts", "recovery_blocked_until"])
    return False


def _replace_recovery_codes(user: User) -> list[str]:
    RecoveryCode.objects.filter(user=user).delete()
    codes = [
        "-".join(secrets.token_hex(5)[i : i + 5] for i in (0, 5))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(user=user, code_digest=_digest(code)) for code in codes
    )
    return codes


def recovery_codes_regenerate(*, user: User, request: HttpRequest | None = None) -> list[str]:
    with transaction.atomic():
        if not totp_is_active(user):
            raise TotpError(_("Set up TOTP before generating recovery codes."))
        codes = _replace_recovery_codes(user)
        _audit("identity.recovery_codes_regenerated", user=user, actor=None, request=request)
    return codes


def recovery_codes_left(user: User) -> int:
    return RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()


def totp_remove(*, user: User, actor: Actor, request: HttpRequest | None = None) -> None:
    with transaction.atomic():
        TotpDevice.objects.filter(user=user).delete()
        RecoveryCode.objects.filter(user=user).delete()
        _audit("identity.totp_removed", user=user, actor=actor, request=request)


def totp_unlock(*, user: User, actor: Actor, request: HttpRequest | None = None) -> None:
    """PVE's `unlock-tfa`: clears the lockout and the failure counters."""
    with transaction.atomic():
        TotpDevice.objects.filter(user=user).update(
            locked_at=None,
            failed_attempts=0,
            recovery_failed_attempts=0,
            recovery_blocked_until=None,
        )
        _audit("identity.totp_unlocked", user=user, actor=actor, request=request)
