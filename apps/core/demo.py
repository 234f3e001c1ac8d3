"""Demo data for the embedded default: idempotent, so every `make run` can call it."""

import hashlib
import ssl
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from apps.backups.services import tenant_backup_storage_set
from apps.clusters.models import Cluster
from apps.clusters.services import (
    cluster_credentials_update,
    cluster_register,
    connection_test,
    endpoint_of,
    inventory_sync,
)
from apps.guests.services import guests_sync, images_sync
from apps.identity.models import User
from apps.identity.services.users import user_create
from apps.proxmox.bootstrap import token_create_with_password
from apps.proxmox.errors import ProxmoxAuthenticationFailed, ProxmoxTlsMismatch
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import plan_create, tenant_admin_grant, tenant_create

DEMO_CLUSTER = "pvesim"


@dataclass(frozen=True)
class DemoLogin:
    userid: str
    password: str
    role: str
    is_operator: bool = False


# Public on purpose: `make run` prints them; the embedded setup listens on loopback only.
DEMO_LOGINS = (
    DemoLogin(
        userid="operator@pve",
        password="operator-demo",  # noqa: S106
        role="operator (back-office)",
        is_operator=True,
    ),
    DemoLogin(userid="alice@pve", password="alice-demo", role="customer, admin of tenant acme"),  # noqa: S106
)


DEMO_TENANT = "acme"
DEMO_PLANS = (
    {
        "slug": "small",
        "name": "Small",
        "cores": 1,
        "memory_mb": 1024,
        "disk_gb": 20,
        "snapshots": 3,
        "backups": 3,
    },
    {
        "slug": "medium",
        "name": "Medium",
        "cores": 2,
        "memory_mb": 4096,
        "disk_gb": 60,
        "snapshots": 5,
        "backups": 7,
    },
)


@transaction.atomic
def seed_demo() -> tuple[DemoLogin, ...]:
    """Create the demo tenant, plans and accounts (or reset their passwords); return the logins.

    alice administers the tenant `acme` (its guests and users) and can create guests from the
    plans within its quota.
    """
    tenant = Tenant.objects.filter(slug=DEMO_TENANT).first() or tenant_create(
        slug=DEMO_TENANT,
        name="ACME Corporation",
        limits=Resources(
            guests=5, vcpus=8, memory_mb=16384, disk_gb=300, snapshots=10, backup_gb=200
        ),
    )
    for plan in DEMO_PLANS:
        if not Plan.objects.filter(slug=plan["slug"]).exists():
            plan_create(**plan)
    for login in DEMO_LOGINS:
        user = User.objects.filter(username=login.userid).first()
        if user is None:
            user_create(
                userid=login.userid,
                password=login.password,
                is_staff=login.is_operator,
                tenant=None if login.is_operator else tenant,
            )
        else:
            user.set_password(login.password)
            user.is_active = True
            user.save(update_fields=["password", "is_active"])
    tenant_admin_grant(tenant=tenant, user=User.objects.get(username="alice@pve"))
    return DEMO_LOGINS


def seed_demo_cluster(*, address: str, pvesim_data_dir: Path) -> Cluster:
    """Register the bundled pvesim as a cluster, with a token made from its root password.

    Kept as it is while its token works; when the simulator's state was reset, the cluster gets
    a new token and certificate pin (its guests are then found vanished by the sync).
    """
    existing = Cluster.objects.filter(name=DEMO_CLUSTER).first()
    if existing is not None:
        try:
            connection_test(endpoint=endpoint_of(existing))
        except (ProxmoxAuthenticationFailed, ProxmoxTlsMismatch):
            pass
        else:
            guests_sync(cluster=existing)
            images_sync(cluster=existing)
            return existing
    certificate = (pvesim_data_dir / "pve-ssl.pem").read_text()
    fingerprint = hashlib.sha256(ssl.PEM_cert_to_DER_cert(certificate)).hexdigest()
    # A fresh name each time: the simulator may keep tokens of an earlier portal database.
    token = token_create_with_password(
        address=address,
        ca_bundle=certificate,
        userid="root@pam",
        password=(pvesim_data_dir / "priv" / "root-password").read_text().strip(),
        token_name=f"portal-{uuid.uuid4().hex[:8]}",
    )
    if existing is None:
        cluster = cluster_register(
            name=DEMO_CLUSTER,
            api_addresses=[address],
            token_id=token.token_id,
            token_secret=token.secret,
            fingerprint=fingerprint,
        )
    else:
        cluster = cluster_credentials_update(
            cluster=existing,
            token_id=token.token_id,
            token_secret=token.secret,
            fingerprint=fingerprint,
        )
    inventory_sync(cluster=cluster)
    guests_sync(cluster=cluster)  # the templates and images, so guests can be created at once
    images_sync(cluster=cluster)
    tenant = Tenant.objects.filter(slug=DEMO_TENANT, backup_storage="").first()
    if tenant is not None:  # the demo tenant backs up to the simulator's `local`
        tenant_backup_storage_set(tenant=tenant, storage="local")
    return cluster
