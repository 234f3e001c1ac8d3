"""The backup tests' fixtures: the guest tests' cluster on pvesim, tenant, plan, user and
worker, plus a tenant whose backups go to `local` and whose admin is alice."""

import pytest
from rest_framework.test import APIClient

from apps.access.services.groups import group_create
from apps.backups.services import tenant_backup_storage_set
from apps.guests.models import Guest
from apps.identity.models import User
from apps.operations.models import Operation
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_set, tenant_admin_grant
from tests.guests.conftest import acme, alice_api, cluster, small, wait_until_terminal, worker

__all__ = ["acme", "alice_api", "cluster", "small", "worker"]

ROOMY = Resources(guests=3, vcpus=6, memory_mb=6144, disk_gb=120, snapshots=2, backup_gb=500)


@pytest.fixture
def admin_api(alice_api, acme) -> APIClient:
    """alice runs the tenant (its group's member) and its backups go to `local`."""
    quota_set(tenant=acme, limits=ROOMY)
    group_create(name=acme.slug)  # made by tenant_create; the guest tests' tenant is bare
    tenant_admin_grant(tenant=acme, user=User.objects.get(username="alice@pve"))
    tenant_backup_storage_set(tenant=acme, storage="local")
    return alice_api


def run(response, timeout: float = 60) -> Operation:
    assert response.status_code == 202, response.content
    operation = wait_until_terminal(response.json()["id"], timeout=timeout)
    assert operation.state == "succeeded", operation.error
    return operation


def make_vm(client, name: str = "web1") -> Guest:
    created = run(
        client.post(
            "/api/v1/guests/", {"name": name, "plan": "small", "template": 9000}, format="json"
        )
    )
    return Guest.objects.get(pk=created.guest_id)


def back_up(client, vm: Guest, **options) -> Operation:
    return run(client.post(f"/api/v1/guests/{vm.vmid}/backups/", options, format="json"))
