"""The documented portal role is enough for the whole lifecycle, with a privsep token."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.clusters.services import cluster_register, inventory_sync
from apps.guests.services import guests_sync, images_sync
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.proxmox.role import PORTAL_ROLE_NAME, PORTAL_ROLE_PRIVILEGES
from apps.tenancy.models import Plan
from apps.tenancy.resources import Resources
from apps.tenancy.services import tenant_create
from portal.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)

ISO = "shared-nfs:iso/debian-12.8.0-amd64-netinst.iso"


def wait_until_terminal(operation_id: str, timeout: float = 30.0) -> Operation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = Operation.objects.get(pk=operation_id)
        if operation.is_terminal:
            return operation
        time.sleep(0.05)
    raise AssertionError(f"operation {operation_id} did not finish")


def test_lifecycle_with_only_the_portal_role(pvesim, pvesim_root) -> None:
    suffix = uuid.uuid4().hex[:6]
    userid = f"portal{suffix}@pve"
    if not any(r["roleid"] == PORTAL_ROLE_NAME for r in pvesim_root.access.roles.get()):
        pvesim_root.access.roles.post(
            roleid=PORTAL_ROLE_NAME, privs=",".join(PORTAL_ROLE_PRIVILEGES)
        )
    pvesim_root.access.users.post(userid=userid, password=f"pw-{suffix}-long")
    created = pvesim_root.access.users(userid).token("portal").post(privsep=1)
    pvesim_root.access.acl.put(path="/", roles=PORTAL_ROLE_NAME, users=userid)
    pvesim_root.access.acl.put(path="/", roles=PORTAL_ROLE_NAME, tokens=created["full-tokenid"])

    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})
    cluster = cluster_register(
        name=f"lp{suffix}",
        api_addresses=[f"{pvesim.host}:{pvesim.port}"],
        token_id=created["full-tokenid"],
        token_secret=created["value"],
        fingerprint=pvesim.fingerprint,
    )
    inventory_sync(cluster=cluster)
    guests_sync(cluster=cluster)
    images_sync(cluster=cluster)
    tenant = tenant_create(
        slug=f"lp{suffix}",
        name="LP",
        limits=Resources(guests=1, vcpus=2, memory_mb=2048, disk_gb=40, snapshots=1, backup_gb=40),
    )
    Plan.objects.create(
        name="S", slug="s", cores=1, memory_mb=1024, disk_gb=30, snapshots=1, backups=1
    )
    user_create(userid="boss@pve", password="x", tenant=tenant)
    acl_modify(path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=["boss@pve"])
    # Backups go to a storage the tenant was given (as an operator grants it).
    acl_modify(path="/storage/local", roles=["PVEDatastoreUser"], users=["boss@pve"])
    api = APIClient()
    api.force_login(tenant.users.get())

    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        queues=[celery_app.conf.task_default_queue],
    ):
        created_op = api.post(
            "/api/v1/guests/", {"name": "lp", "plan": "s", "template": 9000}, format="json"
        ).json()
        create = wait_until_terminal(created_op["id"])
        assert create.state == "succeeded", create.error
        vmid = create.guest.vmid
        steps = [
            lambda: api.post(f"/api/v1/guests/{vmid}/status/reboot/"),
            lambda: api.patch(
                f"/api/v1/guests/{vmid}/", {"name": "lp2", "tags": ["a"], "notes": "n"}, "json"
            ),
            lambda: api.post(f"/api/v1/guests/{vmid}/snapshots/", {"name": "before"}, "json"),
            lambda: api.post(f"/api/v1/guests/{vmid}/snapshots/before/rollback/"),
            lambda: api.post(f"/api/v1/guests/{vmid}/backups/", {"notes": "lp"}, "json"),
            lambda: api.post(f"/api/v1/guests/{vmid}/status/start/"),  # rolled back: stopped
            lambda: api.post(f"/api/v1/guests/{vmid}/reinstall/", {"template": 9000}, "json"),
            lambda: api.delete(f"/api/v1/guests/{vmid}/"),
            lambda: api.post("/api/v1/guests/", {"name": "iso", "plan": "s", "iso": ISO}, "json"),
        ]
        for request in steps:  # one after the other: a guest takes one change at a time
            response = request()
            assert response.status_code == 202, response.content
            operation = wait_until_terminal(response.json()["id"])
            assert operation.state == "succeeded", (operation.kind, operation.error)
