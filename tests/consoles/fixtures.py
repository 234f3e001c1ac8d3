"""A registered pvesim cluster, a tenant with alice (PVEVMAdmin on its pool), an operator, and a
running VM (with serial0, from template 9000) and container in the tenant's pool: what console
tests need. Imported by the consoles and
browser conftests."""

import time
import uuid

import pytest
from django.test import Client

from apps.access.services import acl_modify
from apps.clusters.services import cluster_register, inventory_sync
from apps.guests.models import Guest
from apps.guests.services import guests_sync
from apps.identity.models import Realm, User
from apps.identity.services.users import user_create
from apps.tenancy.models import Tenant
from tests.services.pve_access import make_token

ALICE_PASSWORD = "alice-console-pw-1"
OPERATOR_PASSWORD = "operator-console-pw-1"


def wait_for_task(root, upid: str, timeout: float = 30.0) -> None:
    node = upid.split(":")[1]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = root.nodes(node).tasks(upid).status.get()
        if status["status"] == "stopped":
            assert status["exitstatus"] == "OK", status
            return
        time.sleep(0.02)
    raise AssertionError(f"task {upid} did not finish")


@pytest.fixture
def console_cluster(transactional_db, pvesim, pvesim_root):
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
def tenant(console_cluster, pvesim_root) -> Tenant:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    created = Tenant.objects.create(name="ACME", slug=f"acme{uuid.uuid4().hex[:6]}")
    pvesim_root.pools.post(poolid=created.slug)
    return created


@pytest.fixture
def alice(tenant) -> User:
    user = user_create(userid="alice@pve", password=ALICE_PASSWORD, tenant=tenant)
    acl_modify(path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=["alice@pve"])
    return user


@pytest.fixture
def alice_client(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def operator(console_cluster) -> User:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    return user_create(userid="op@pve", password=OPERATOR_PASSWORD, is_staff=True)


@pytest.fixture
def operator_client(operator) -> Client:
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def running_vm(console_cluster, tenant, pvesim_root) -> Guest:
    vmid = int(pvesim_root.cluster.nextid.get())
    wait_for_task(
        pvesim_root,
        pvesim_root.nodes("pve1")
        .qemu(9000)
        .clone.post(newid=vmid, name=f"vm{vmid}", pool=tenant.slug),
    )
    wait_for_task(pvesim_root, pvesim_root.nodes("pve1").qemu(vmid).status.start.post())
    guests_sync(cluster=console_cluster)
    return Guest.objects.get(vmid=vmid)


@pytest.fixture
def running_ct(console_cluster, tenant, pvesim_root) -> Guest:
    vmid = int(pvesim_root.cluster.nextid.get())
    wait_for_task(
        pvesim_root,
        pvesim_root.nodes("pve1").lxc.post(
            vmid=vmid,
            hostname=f"ct{vmid}",
            ostemplate="local:vztmpl/alpine-3.20-default_20240908_amd64.tar.xz",
            pool=tenant.slug,
            unprivileged=1,
            start=1,
        ),
    )
    guests_sync(cluster=console_cluster)
    return Guest.objects.get(vmid=vmid)
