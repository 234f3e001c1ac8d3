"""Power actions through the REST API, run by a real Celery worker against pvesim."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.audit.models import AuditEvent
from apps.guests.models import Guest
from apps.guests.services import guests_sync
from apps.identity.models import Realm
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from portal.celery import app as celery_app

# The worker runs in a thread with its own database connection: data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def worker():
    with start_worker(
        celery_app,
        pool="solo",
        perform_ping_check=False,
        queues=[celery_app.conf.task_default_queue],
    ):
        yield


@pytest.fixture(autouse=True)
def builtin_realm(transactional_db) -> None:
    Realm.objects.get_or_create(name="pve", defaults={"type": "pve", "default": True})


def wait_until_terminal(operation_id: str, timeout: float = 30.0) -> Operation:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        operation = Operation.objects.get(pk=operation_id)
        if operation.is_terminal:
            return operation
        time.sleep(0.05)
    raise AssertionError(f"operation {operation_id} did not finish")


def api_as(userid: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(user_create(userid=userid, password="x"))
    return client


def test_start_then_stop_through_the_api(cluster, cloned_vmid, worker) -> None:
    guests_sync(cluster=cluster)
    alice = api_as("alice@pve")
    acl_modify(path=f"/vms/{cloned_vmid}", roles=["PVEVMUser"], users=["alice@pve"])

    response = alice.post(f"/api/v1/guests/{cloned_vmid}/status/start/")

    assert response.status_code == 202, response.content
    operation = wait_until_terminal(response.json()["id"])
    assert operation.state == "succeeded", operation.error
    step = operation.steps.get()
    assert step.upid.startswith("UPID:pve1:")
    assert ":qmstart:" in step.upid
    assert step.exitstatus == "OK"
    assert "TASK OK" in step.task_log
    assert Guest.objects.get(vmid=cloned_vmid).status == "running"
    assert AuditEvent.objects.filter(action="guests.start", actor="alice@pve").exists()

    detail = alice.get(f"/api/v1/operations/{operation.pk}/").json()
    assert detail["state"] == "succeeded"
    assert detail["steps"][0]["upid"] == step.upid

    stopped = alice.post(f"/api/v1/guests/{cloned_vmid}/status/stop/")
    assert wait_until_terminal(stopped.json()["id"]).state == "succeeded"
    assert alice.get(f"/api/v1/guests/{cloned_vmid}/").json()["status"] == "stopped"


def test_a_failing_pve_task_fails_the_operation_with_its_reason(
    cluster, cloned_vmid, worker, pvesim_faults
) -> None:
    guests_sync(cluster=cluster)
    alice = api_as("alice@pve")
    acl_modify(path=f"/vms/{cloned_vmid}", roles=["PVEVMUser"], users=["alice@pve"])
    pvesim_faults(fail_tasks={"count": 1, "message": "storage hiccup"})

    response = alice.post(f"/api/v1/guests/{cloned_vmid}/status/start/")

    operation = wait_until_terminal(response.json()["id"])
    assert operation.state == "failed"
    assert operation.error == "storage hiccup"


def test_scoping_missing_and_forbidden_guests_are_both_404(cluster, cloned_vmid) -> None:
    guests_sync(cluster=cluster)
    bob = api_as("bob@pve")
    mallory = api_as("mallory@pve")
    acl_modify(path=f"/vms/{cloned_vmid}", roles=["PVEAuditor"], users=["bob@pve"])

    assert [g["vmid"] for g in bob.get("/api/v1/guests/").json()["results"]] == [cloned_vmid]
    assert mallory.get("/api/v1/guests/").json()["results"] == []
    assert mallory.get(f"/api/v1/guests/{cloned_vmid}/").status_code == 404
    assert mallory.get("/api/v1/guests/99999999/").status_code == 404
    assert mallory.post(f"/api/v1/guests/{cloned_vmid}/status/start/").status_code == 404

    # Bob may see the guest but not power it: 403 with PVE's message, and no operation.
    refused = bob.post(f"/api/v1/guests/{cloned_vmid}/status/start/")
    assert refused.status_code == 403
    assert f"(/vms/{cloned_vmid}, VM.PowerMgmt)" in refused.json()["detail"]
    assert not Operation.objects.exists()


def test_bad_actions_are_refused_clearly(cluster, cloned_vmid) -> None:
    guests_sync(cluster=cluster)
    carol = api_as("carol@pve")
    acl_modify(path="/vms", roles=["PVEVMAdmin"], users=["carol@pve"])
    assert carol.post(f"/api/v1/guests/{cloned_vmid}/status/explode/").status_code == 400
    template = carol.post("/api/v1/guests/9000/status/start/")
    assert template.status_code == 404  # templates are not listed as guests
    assert not Operation.objects.exists()


def test_bulk_start_makes_one_operation_per_guest(cluster, cloned_vmid, worker) -> None:
    guests_sync(cluster=cluster)
    alice = api_as("alice@pve")
    acl_modify(path=f"/vms/{cloned_vmid}", roles=["PVEVMUser"], users=["alice@pve"])

    response = alice.post(
        "/api/v1/guests/bulk/status/start/", {"vmids": [cloned_vmid, 9000]}, format="json"
    )

    assert response.status_code == 202
    body = response.json()
    assert body["refused"] == {"9000": "no such guest"}  # a template, not a guest
    (operation,) = body["operations"]
    assert wait_until_terminal(operation["id"]).state == "succeeded"
    assert Guest.objects.get(vmid=cloned_vmid).status == "running"


def test_a_suspended_tenants_guests_stop_and_are_read_only_until_unsuspended(
    cluster, cloned_vmid, worker, pvesim_root
) -> None:
    from apps.guests.services import tenant_suspend, tenant_unsuspend
    from apps.tenancy.models import Tenant

    acme = Tenant.objects.create(name="ACME", slug=f"acme{uuid.uuid4().hex[:8]}")
    pvesim_root.pools.post(poolid=acme.slug)
    pvesim_root.pools.put(poolid=acme.slug, vms=str(cloned_vmid))
    guests_sync(cluster=cluster)
    boss = api_as("boss@pve")
    acl_modify(path=f"/pool/{acme.slug}", roles=["PVEVMAdmin"], users=["boss@pve"])
    started = boss.post(f"/api/v1/guests/{cloned_vmid}/status/start/").json()
    assert wait_until_terminal(started["id"]).state == "succeeded"
    operator = user_create(userid="op@pve", password="x", is_staff=True)

    (stop,) = tenant_suspend(tenant=acme, actor=operator)

    assert wait_until_terminal(str(stop.pk)).state == "succeeded"
    assert Guest.objects.get(vmid=cloned_vmid).status == "stopped"
    refused = boss.post(f"/api/v1/guests/{cloned_vmid}/status/start/")
    assert refused.status_code == 400
    assert "suspended" in str(refused.json())
    assert AuditEvent.objects.filter(action="tenancy.tenant_suspended", actor="op@pve").exists()

    tenant_unsuspend(tenant=acme, actor=operator)
    again = boss.post(f"/api/v1/guests/{cloned_vmid}/status/start/")
    assert again.status_code == 202
    assert wait_until_terminal(again.json()["id"]).state == "succeeded"
