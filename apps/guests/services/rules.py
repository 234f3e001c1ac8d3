"""Checks every guest action shares."""

import ipaddress
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.http import Http404

from apps.access.engine import Principal, audit_actor
from apps.clusters.models import Cluster
from apps.core.crypto import encrypt_secret
from apps.guests.models import Guest
from apps.operations.models import Operation
from apps.operations.services import operation_create
from apps.tenancy.models import Plan, Tenant


def refuse_if_tenant_inactive(guest: Guest, actor: Principal) -> None:
    """A suspended tenant's guests, and a guest suspended on its own (its billing service),
    are read-only for the tenant's users; operators still act on them."""
    owner = getattr(actor, "user", actor)
    if owner.is_superuser:
        return
    tenant = guest.tenant
    if tenant is not None and tenant.status != Tenant.Status.ACTIVE:
        raise ValidationError(
            f"tenant '{tenant.slug}' is {tenant.status}: its guests are read-only"
        )
    if guest.suspended:
        raise ValidationError(f"guest {guest.vmid} is suspended: it is read-only")


# Kinds that change what the guest is; two of them must not run on one guest at once.
EXCLUSIVE_KINDS = (
    "guest.create",
    "guest.delete",
    "guest.reinstall",
    "guest.resize",
    "guest.update",
    # Snapshots (services/snapshots.py): PVE would refuse them on the locked guest anyway.
    "guest.snapshot",
    "guest.rollback",
    "guest.snapshot_delete",
    # Backups (apps/backups): a backup holds PVE's lock on the guest while it runs.
    "guest.backup",
    "guest.restore",
)


def guest_lock(guest: Guest, *related: str) -> Guest:
    """The guest's row, locked for the caller's transaction; a guest deleted meanwhile is as
    missing as one that never was."""
    locked = (
        Guest.objects.select_for_update(of=("self",))
        .select_related(*related)
        .filter(pk=guest.pk)
        .first()
    )
    if locked is None:
        raise Http404("no such guest")
    return locked


def refuse_if_busy(guest: Guest) -> None:
    busy = (
        guest.operations.filter(kind__in=EXCLUSIVE_KINDS)
        .exclude(state__in=Operation.TERMINAL_STATES)
        .values_list("kind", flat=True)
        .first()
    )
    if busy:
        raise ValidationError(
            f"guest {guest.vmid} has an operation in progress ({busy}); wait for it to end"
        )


def guest_operation_create(
    *,
    kind: str,
    guest: Guest,
    actor: Principal,
    steps: list[tuple[str, dict]],
    idempotency_key: str = "",
) -> Operation:
    """An operation on an existing guest, for the guest's cluster and tenant."""
    return operation_create(
        kind=kind,
        cluster=guest.cluster,
        guest=guest,
        tenant=guest.tenant,
        target=guest.acl_path,
        actor=audit_actor(actor),
        steps=steps,
        idempotency_key=idempotency_key,
    )


GUEST_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")


def check_guest_name(name: str) -> None:
    if not GUEST_NAME.match(name):
        raise ValidationError(
            {"name": "a guest name is a DNS label: letters, digits and '-', at most 63"}
        )


def check_plan_offers(
    *, plan: Plan, cluster: Cluster, source: str | None, source_field: str
) -> None:
    """The plan must be on offer, on this cluster, for this template (`source` is the name of a
    template or the file name of an image; None for a copy of the tenant's own guest)."""
    if not plan.active:
        raise ValidationError({"plan": f"plan '{plan.slug}' is no longer offered"})
    clusters = plan.clusters.all()
    if clusters and cluster not in clusters:
        raise ValidationError(
            {source_field: f"plan '{plan.slug}' is not offered on cluster '{cluster.name}'"}
        )
    if source is not None and not plan.offers_template(source):
        raise ValidationError({source_field: f"plan '{plan.slug}' does not offer '{source}'"})


LOGIN_NAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
SSH_KEY_TYPES = ("ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-")


@dataclass(frozen=True)
class GuestAccess:
    """How a new guest's owner gets in and how it is addressed: the login user (VMs, through
    cloud-init), a password, SSH public keys, and an IPv4 address ('dhcp', or CIDR with an
    optional gateway)."""

    user: str = ""
    password: str = ""
    ssh_keys: str = ""
    ipv4: str = "dhcp"
    gateway: str = ""

    def check(self, guest_type: str) -> None:
        errors: dict[str, str] = {}
        if self.user and guest_type != Guest.Type.QEMU:
            errors["user"] = "containers log in as root; a user is set for VMs only"
        elif self.user and not LOGIN_NAME.match(self.user):
            errors["user"] = "a login name: lower-case letters, digits, '_' and '-', at most 32"
        if self.password and len(self.password) < 5:
            errors["password"] = "at least 5 characters (PVE's rule)"  # noqa: S105
        keys = [line.strip() for line in self.ssh_keys.splitlines() if line.strip()]
        if any(not key.startswith(SSH_KEY_TYPES) or len(key.split()) < 2 for key in keys):
            errors["ssh_keys"] = "one OpenSSH public key per line (ssh-ed25519 AAAA... comment)"
        if self.ipv4 != "dhcp":
            try:
                interface = ipaddress.IPv4Interface(self.ipv4)
                if "/" not in self.ipv4:
                    raise ValueError
            except ValueError:
                errors["ipv4"] = "'dhcp' or an address with its prefix, e.g. 192.0.2.10/24"
            else:
                if self.gateway:
                    try:
                        gateway = ipaddress.IPv4Address(self.gateway)
                    except ValueError:
                        errors["gateway"] = "an IPv4 address"
                    else:
                        if gateway not in interface.network:
                            errors["gateway"] = f"not in {interface.network}"
        elif self.gateway:
            errors["gateway"] = "a gateway goes with a static address, not with DHCP"
        if errors:
            raise ValidationError(errors)

    def _address(self) -> str:
        return (
            "ip=dhcp"
            if self.ipv4 == "dhcp"
            else f"ip={self.ipv4}" + (f",gw={self.gateway}" if self.gateway else "")
        )

    def _secrets(self) -> dict[str, str]:
        # Encrypted at rest in the operation's params; the runner drops it when it ends.
        return {"password_encrypted": encrypt_secret(self.password)} if self.password else {}

    def cloud_init(self) -> dict[str, str]:
        """guest_configure's parameters for a VM with cloud-init."""
        return {
            "user": self.user,
            "ssh_keys": self.ssh_keys,
            "ipconfig0": self._address(),
            **self._secrets(),
        }

    def container(self) -> dict[str, str]:
        """container_create's parameters."""
        return {
            "ssh_keys": self.ssh_keys,
            "net0": f"name=eth0,bridge=vmbr0,{self._address()}",
            **self._secrets(),
        }
