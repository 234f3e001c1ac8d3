"""On-demand backups through the REST API on pvesim: vzdump of a running VM, the mirrored
list with size and notes, the tenant's `backup_gb` use; over-quota and foreign guests refused."""

import math

import pytest
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.audit.models import AuditEvent
from apps.backups.models import Backup
from apps.guests.models import Guest
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.tenancy.models import Reservation, Tenant
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_set
from tests.backups.conftest import make_vm, run

pytestmark = pytest.mark.django_db(transaction=True)

LIMITS = Resources(guests=2, vcpus=4, memory_mb=4096, disk_gb=100)


@pytest.fixture
def backup_user(alice_api, acme):
    """Alice may also allocate space on the backup storage, as PVE's vzdump asks."""
    acl_modify(path="/storage/local", roles=["PVEDatastoreUser"], users=["alice@pve"])
    return alice_api


def test_a_backup_of_a_running_vm(backup_user, acme, small, worker, pvesim_root) -> None:
    quota_set(tenant=acme, limits=Resources(**{**LIMITS.__dict__, "backup_gb": 50}))
    vm = make_vm(backup_user)
    assert vm.status == "running"
    url = f"/api/v1/guests/{vm.vmid}/backups/"
    assert backup_user.get(url).json() == []

    response = backup_user.post(url, {"notes": "before upgrade", "protected": True}, format="json")
    assert response.status_code == 202, response.content
    # The guest's disk is held against the quota while the backup runs.
    assert Reservation.objects.get(operation_id=response.json()["id"]).backup_gb == vm.disk_gb
    operation = run(response)
    log = backup_user.get(f"/api/v1/operations/{operation.pk}/log/").json()
    assert log["steps"][0]["upid"].startswith("UPID:")
    assert ":vzdump:" in log["steps"][0]["upid"]

    [listed] = backup_user.get(url).json()
    assert listed["volid"].startswith(f"local:backup/vzdump-qemu-{vm.vmid}-")
    assert listed["volid"].endswith(".vma.zst")
    assert (listed["vmid"], listed["storage"], listed["notes"], listed["protected"]) == (
        vm.vmid,
        "local",
        "before upgrade",
        True,
    )
    assert listed["size"] > 0
    assert listed["ctime"] is not None
    # The same as PVE lists it.
    on_pve = pvesim_root.nodes(vm.node).storage("local").content.get(content="backup")
    assert [(v["volid"], v["size"]) for v in on_pve] == [(listed["volid"], listed["size"])]

    # Counted once mirrored (GiB, rounded up); the reservation is gone.
    assert not Reservation.objects.filter(released_at__isnull=True).exists()
    quota = backup_user.get(f"/api/v1/tenants/{acme.slug}/quota/").json()
    assert quota["used"]["backup_gb"] == math.ceil(listed["size"] / 1024**3) >= 1
    assert quota["limits"]["backup_gb"] == 50
    assert AuditEvent.objects.filter(action="backups.backup_create").count() == 1

    # A guest that goes keeps its backups (and their VMID).
    Guest.objects.filter(pk=vm.pk).delete()
    backup = Backup.objects.get()
    assert (backup.guest, backup.vmid) == (None, vm.vmid)


def test_over_quota_is_refused(backup_user, acme, small, worker) -> None:
    vm = make_vm(backup_user)
    # The VM's 40 GB disk does not fit in 10 GB of backups.
    quota_set(tenant=acme, limits=Resources(**{**LIMITS.__dict__, "backup_gb": 10}))
    operations = Operation.objects.count()
    response = backup_user.post(f"/api/v1/guests/{vm.vmid}/backups/", {}, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["exceeded"]["backup_gb"] == {"used": 0, "requested": 40, "limit": 10}
    assert Operation.objects.count() == operations
    assert not Backup.objects.exists()


def test_privileges_and_bad_input(alice_api, acme, small, worker) -> None:
    quota_set(tenant=acme, limits=Resources(**{**LIMITS.__dict__, "backup_gb": 100}))
    vm = make_vm(alice_api)
    url = f"/api/v1/guests/{vm.vmid}/backups/"
    # Without Datastore.AllocateSpace on the storage, as on PVE.
    assert alice_api.post(url, {}, format="json").status_code == 403
    acl_modify(path="/storage/local", roles=["PVEDatastoreUser"], users=["alice@pve"])
    assert alice_api.post(url, {"storage": "nowhere"}, format="json").status_code == 400
    assert alice_api.post(url, {"mode": "later"}, format="json").status_code == 400
    assert not Operation.objects.filter(kind="guest.backup").exists()


def test_a_foreign_guest_is_not_found(backup_user, acme, small, worker) -> None:
    quota_set(tenant=acme, limits=Resources(**{**LIMITS.__dict__, "backup_gb": 100}))
    vm = make_vm(backup_user)
    other = Tenant.objects.create(name="Other", slug=f"other{acme.pk}")
    quota_set(tenant=other, limits=Resources(**{**LIMITS.__dict__, "backup_gb": 100}))
    bob = user_create(userid="bob@pve", password="x", tenant=other)
    acl_modify(path=f"/pool/{other.slug}", roles=["PVEVMAdmin"], users=["bob@pve"])
    acl_modify(path="/storage/local", roles=["PVEDatastoreUser"], users=["bob@pve"])
    client = APIClient()
    client.force_authenticate(bob)
    url = f"/api/v1/guests/{vm.vmid}/backups/"
    assert client.get(url).status_code == 404
    assert client.post(url, {}, format="json").status_code == 404
    assert not Operation.objects.filter(kind="guest.backup").exists()
