"""The back-office through Django's test client: the customer portal's world (tests/web) plus
nodes, storages, images, backups and operations on its cluster, and an operator."""

from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from apps.audit.services import Actor
from apps.backups.models import Backup
from apps.clusters.models import Node, Storage
from apps.guests.models import Image
from apps.identity.models import User
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.operations.services import operation_create
from tests.web.conftest import Portal, operator, portal  # noqa: F401 - fixtures

GiB = 1024**3


@dataclass
class Backoffice:
    portal: Portal
    operator: User
    client: Client  # signed in as the operator

    def power_operation(self, guest, *, state: str = "pending", actor: str = "") -> Operation:
        operation = operation_create(
            kind="guest.stop",
            cluster=self.portal.cluster,
            guest=guest,
            tenant=guest.tenant,
            target=guest.acl_path,
            actor=Actor.user(self.portal.alice) if not actor else Actor.system(actor),
            steps=[("guest_power", {"action": "stop"})],
        )
        Operation.objects.filter(pk=operation.pk).update(
            state=state, error="PVE said no" if state == "failed" else ""
        )
        operation.refresh_from_db()
        return operation


@pytest.fixture
def backoffice(portal, operator) -> Backoffice:  # noqa: F811
    cluster = portal.cluster
    cluster.last_synced_at = timezone.now()
    cluster.pve_version = "8.2"
    cluster.save()
    nodes = {
        name: Node.objects.create(
            cluster=cluster,
            name=name,
            online=name != "pve3",
            cpu_usage=0.25,
            cpu_count=8,
            memory_used=4 * GiB,
            memory_total=16 * GiB,
        )
        for name in ("pve1", "pve2", "pve3")
    }
    for node in nodes.values():
        Storage.objects.create(
            cluster=cluster,
            node=node,
            storage="local",
            type="dir",
            content=["iso", "vztmpl", "backup"],
            available=True,
            used=10 * GiB,
            total=100 * GiB,
        )
        Storage.objects.create(
            cluster=cluster,
            node=node,
            storage="ceph-vm",
            type="rbd",
            content=["images"],
            shared=True,
            available=True,
            used=300 * GiB,
            total=1000 * GiB,
        )
    Image.objects.create(
        cluster=cluster,
        node="pve1",
        storage="local",
        volid="local:iso/debian-12.iso",
        content="iso",
    )
    Image.objects.create(
        cluster=cluster,
        node="pve1",
        storage="local",
        volid="local:vztmpl/alpine-3.19.tar.xz",
        content="vztmpl",
    )
    Backup.objects.create(
        cluster=cluster,
        tenant=portal.acme,
        vmid=1000,
        node="pve1",
        storage="local",
        volid="local:backup/vzdump-qemu-1000-2026_01_01-00_00_00.vma.zst",
        size=2 * GiB,
    )
    client = Client()
    client.force_login(operator)
    return Backoffice(portal, operator, client)


@pytest.fixture
def tenant_user(portal) -> User:  # noqa: F811
    """A plain user of ACME (not its admin)."""
    return user_create(userid="bob@pve", password="x", tenant=portal.acme)
