"""A registered pvesim cluster, a guest cloned from its template, a tenant with quota, a plan,
the tenant's API client and a Celery worker."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.clusters.services import cluster_register, inventory_sync
from apps.guests.services import guests_sync
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.tenancy.models import Plan, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_set
from portal.celery import app as celery_app
from tests.services.pve_access import make_token


def wait_for_task(root, upid: str, timeout: float = 30.0) -> dict:
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = root.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            return status
        time.sleep(0.05)
    raise AssertionError(f"task {upid} did not finish")


@pytest.fixture
def cluster(pvesim, pvesim_root):
    token = make_token(pvesim_root)
    registered = cluster_register(
        name=f"sim{uuid.uuid4().hex[:6]}",
        api_addresses=[f"{pvesim.host}:{pvesim.port}"],
        token_id=token.token_id,
        token_secret=token.secret,
        fingerprint=pvesim.fingerprint,
    )
    inventory_sync(cluster=registered)
    return registered


@pytest.fixture
def cloned_vmid(pvesim_root) -> int:
    """A new, stopped VM cloned from the demo template 9000 (directly on PVE)."""
    vmid = int(pvesim_root.cluster.nextid.get())
    upid = pvesim_root.nodes("pve1").qemu(9000).clone.post(newid=vmid, name=f"vm{vmid}")
    assert wait_for_task(pvesim_root, upid)["exitstatus"] == "OK"
    return vmid


@pytest.fixture
def worker():
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        queues=[celery_app.conf.task_default_queue],
    ):
        yield


@pytest.fixture
def acme(transactional_db, cluster) -> Tenant:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    tenant = Tenant.objects.create(name="ACME", slug=f"acme{cluster.pk}")
    quota_set(tenant=tenant, limits=Resources(guests=2, vcpus=4, memory_mb=4096, disk_gb=100))
    guests_sync(cluster=cluster)  # the templates
    return tenant


@pytest.fixture
def small(transactional_db) -> Plan:
    return Plan.objects.create(
        name="Small", slug="small", cores=2, memory_mb=2048, disk_gb=40, backups=5
    )


@pytest.fixture
def alice_api(acme) -> APIClient:
    alice = user_create(userid="alice@pve", password="x", tenant=acme)
    acl_modify(path=f"/pool/{acme.slug}", roles=["PVEVMAdmin"], users=["alice@pve"])
    client = APIClient()
    client.force_authenticate(alice)
    return client


def wait_until_terminal(operation_id: str, timeout: float = 30.0) -> Operation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = Operation.objects.get(pk=operation_id)
        if operation.is_terminal:
            return operation
        time.sleep(0.05)
    raise AssertionError(f"operation {operation_id} did not finish")
