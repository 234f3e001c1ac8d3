"""Where backups go: the storage asked for, else the tenant's, else the plan's, else the first
of the guest's node that takes backups. Choosing the tenant's (service or back-office) grants
its group space there; a storage that takes no backups is refused and changes nothing."""

import pytest
from django.test import Client

from apps.access.models import AclEntry
from apps.access.services.groups import group_create
from apps.backups.services import backup_storage, tenant_backup_storage_set
from apps.clusters.models import Node
from apps.guests.models import Guest
from apps.identity.services.users import user_create
from apps.tenancy.models import Tenant

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def guest(cluster, acme, small) -> Guest:
    node = Node.objects.filter(cluster=cluster).order_by("name").first()
    return Guest.objects.create(
        vmid=4242,
        cluster=cluster,
        node=node.name,
        type="qemu",
        name="web1",
        tenant=acme,
        plan=small,
        pool=acme.slug,
        status="running",
    )


def test_the_choice_falls_back_from_request_to_tenant_to_plan(guest, acme, small) -> None:
    storages = {s.storage for s in guest.cluster.storages.filter(node__name=guest.node)}
    taking_backups = {
        s.storage
        for s in guest.cluster.storages.filter(node__name=guest.node)
        if "backup" in s.content
    }
    assert taking_backups, storages
    assert backup_storage(guest=guest).storage in taking_backups  # the first that takes them
    small.backup_storage = "local"
    small.save()
    assert backup_storage(guest=guest).storage == "local"
    assert backup_storage(guest=guest, name="local-lvm") is None  # takes no backups
    acme.backup_storage = "nowhere"
    acme.save()
    guest.refresh_from_db()
    assert backup_storage(guest=guest) is None  # the tenant's choice wins, even if absent here


def test_the_tenant_storage_grants_its_group(guest, acme) -> None:
    group_create(name=acme.slug)
    tenant_backup_storage_set(tenant=acme, storage="local")
    grant = AclEntry.objects.get(path="/storage/local", group__name=acme.slug)
    assert grant.role == "PVEDatastoreUser"
    assert Tenant.objects.get(pk=acme.pk).backup_storage == "local"


def test_the_back_office_goes_through_the_service(guest, acme) -> None:
    group_create(name=acme.slug)
    operator = user_create(userid="op@pve", password="x", is_staff=True)
    client = Client()
    client.force_login(operator)
    url = f"/admin/tenancy/tenant/{acme.pk}/change/"
    form = {
        "name": acme.name,
        "slug": acme.slug,
        "contact_email": "ops@acme.example",
        "backup_storage": "local-lvm",
    }
    response = client.post(url, form)
    assert response.status_code == 200
    assert "no storage &#x27;local-lvm&#x27; takes backups" in response.content.decode()
    assert Tenant.objects.get(pk=acme.pk).backup_storage == ""
    assert not AclEntry.objects.filter(path="/storage/local-lvm").exists()

    response = client.post(url, {**form, "backup_storage": "local"})
    assert response.status_code == 302
    tenant = Tenant.objects.get(pk=acme.pk)
    assert (tenant.backup_storage, tenant.contact_email) == ("local", "ops@acme.example")
    assert AclEntry.objects.filter(path="/storage/local", group__name=acme.slug).exists()
