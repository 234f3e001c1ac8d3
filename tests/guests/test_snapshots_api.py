"""Snapshots through the REST API on pvesim: the tree, create with and without RAM state,
rollback, delete; the plan's per-guest limit and the tenant's quota; PVE's locks; the
privileges PVE asks for; Idempotency-Key."""

import pytest
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.audit.models import AuditEvent
from apps.clusters.services import client_for
from apps.guests.models import Guest, Snapshot
from apps.guests.selectors import tenant_guest_usage
from apps.guests.services import guests_sync
from apps.identity.models import User
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.proxmox.guests import pool_ensure
from apps.tenancy.models import Plan, Reservation
from apps.tenancy.resources import Resources
from apps.tenancy.services import quota_set
from tests.guests.conftest import wait_for_task, wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)

DEBIAN_CT = "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"


@pytest.fixture
def snappy(transactional_db) -> Plan:
    return Plan.objects.create(
        name="Snappy", slug="snappy", cores=1, memory_mb=1024, disk_gb=20, snapshots=3
    )


@pytest.fixture
def acme_snapshots(acme):
    quota_set(
        tenant=acme,
        limits=Resources(guests=2, vcpus=4, memory_mb=4096, disk_gb=100, snapshots=4),
    )
    return acme


def run(response) -> Operation:
    assert response.status_code == 202, response.content
    operation = wait_until_terminal(response.json()["id"])
    assert operation.state == "succeeded", operation.error
    return operation


def failed(response) -> Operation:
    assert response.status_code == 202, response.content
    operation = wait_until_terminal(response.json()["id"])
    assert operation.state == "failed"
    return operation


def make_vm(client, name: str = "web1") -> Guest:
    created = run(
        client.post(
            "/api/v1/guests/", {"name": name, "plan": "snappy", "template": 9000}, format="json"
        )
    )
    return Guest.objects.get(pk=created.guest_id)


def pve_snapshots(pvesim_root, guest: Guest) -> dict[str, dict]:
    items = getattr(pvesim_root.nodes(guest.node), guest.type)(guest.vmid).snapshot.get()
    return {item["name"]: item for item in items}


def test_a_vms_snapshots_as_a_tree_with_rollback_and_delete(
    alice_api, acme_snapshots, snappy, worker, pvesim_root
) -> None:
    vm = make_vm(alice_api)
    assert vm.status == "running"
    url = f"/api/v1/guests/{vm.vmid}/snapshots/"
    empty = alice_api.get(url).json()
    assert (empty["snapshots"], empty["count"], empty["limit"]) == ([], 0, 3)

    made = run(
        alice_api.post(
            url,
            {"name": "with_ram", "description": "before upgrade", "vmstate": True},
            format="json",
        )
    )
    run(alice_api.post(url, {"name": "plain"}, format="json"))
    on_pve = pve_snapshots(pvesim_root, vm)
    assert on_pve["with_ram"]["vmstate"] == 1
    assert on_pve["with_ram"]["description"] == "before upgrade"
    assert on_pve["plain"]["parent"] == "with_ram"
    log = alice_api.get(f"/api/v1/operations/{made.pk}/log/").json()
    assert log["steps"][0]["upid"].startswith("UPID:")
    assert log["steps"][0]["log"][-1] == "TASK OK"

    tree = alice_api.get(url).json()
    assert tree["count"] == 2
    assert tree["current_parent"] == "plain"
    [root] = tree["snapshots"]
    assert (root["name"], root["vmstate"], root["description"]) == (
        "with_ram",
        True,
        "before upgrade",
    )
    assert [child["name"] for child in root["children"]] == ["plain"]
    assert root["created_at"] is not None
    # Counted against the quota once mirrored; the reservation is gone.
    assert tenant_guest_usage(tenant=acme_snapshots).snapshots == 2
    assert not Reservation.objects.filter(released_at__isnull=True).exists()

    # Back to the snapshot with RAM: the VM runs on; a new snapshot branches off there.
    run(alice_api.post(f"{url}with_ram/rollback/"))
    vm.refresh_from_db()
    assert vm.status == "running"
    run(alice_api.post(url, {"name": "branch"}, format="json"))
    tree = alice_api.get(url).json()
    assert tree["current_parent"] == "branch"
    assert sorted(c["name"] for c in tree["snapshots"][0]["children"]) == ["branch", "plain"]

    # Back to a snapshot without RAM: the VM ends stopped, or started with `start`.
    run(alice_api.post(f"{url}plain/rollback/"))
    vm.refresh_from_db()
    assert vm.status == "stopped"
    run(alice_api.post(f"{url}plain/rollback/", {"start": True}, format="json"))
    vm.refresh_from_db()
    assert vm.status == "running"

    run(alice_api.delete(f"{url}plain/"))
    assert set(pve_snapshots(pvesim_root, vm)) == {"with_ram", "branch", "current"}
    assert set(Snapshot.objects.filter(guest=vm).values_list("name", flat=True)) == {
        "with_ram",
        "branch",
    }
    assert alice_api.delete(f"{url}plain/").status_code == 404
    assert alice_api.post(f"{url}plain/rollback/").status_code == 404
    actions = set(AuditEvent.objects.filter(target=vm.acl_path).values_list("action", flat=True))
    assert {
        "guests.snapshot_create",
        "guests.snapshot_rollback",
        "guests.snapshot_delete",
    } <= actions


def test_containers_snapshots_where_their_storage_allows(
    alice_api, acme_snapshots, snappy, worker, pvesim_root, cluster
) -> None:
    """A container's root on NFS (a raw image) cannot be snapshotted: the operation says why.
    One on LVM-thin can; a container has no RAM state to keep. Both are made on PVE in the
    tenant's pool and adopted, so where they live does not depend on free space."""

    def adopted_container(rootfs: str, hostname: str) -> Guest:
        vmid = int(pvesim_root.cluster.nextid.get())
        upid = pvesim_root.nodes("pve1").lxc.post(
            vmid=vmid,
            ostemplate=DEBIAN_CT,
            hostname=hostname,
            rootfs=rootfs,
            pool=acme_snapshots.slug,
        )
        assert wait_for_task(pvesim_root, upid)["exitstatus"] == "OK"
        guests_sync(cluster=cluster)
        guest = Guest.objects.get(vmid=vmid)
        assert (guest.tenant, guest.plan) == (acme_snapshots, None)
        return guest

    pool_ensure(client_for(cluster), pool=acme_snapshots.slug)
    on_nfs = adopted_container("shared-nfs:4", "db1")
    assert "shared-nfs:" in pvesim_root.nodes(on_nfs.node).lxc(on_nfs.vmid).config.get()["rootfs"]
    url = f"/api/v1/guests/{on_nfs.vmid}/snapshots/"
    refused = alice_api.post(url, {"name": "mem", "vmstate": True}, format="json")
    assert refused.status_code == 400
    assert "vmstate" in refused.json()
    operation = failed(alice_api.post(url, {"name": "nightly"}, format="json"))
    assert operation.error.startswith(
        f"guest {on_nfs.vmid} has a disk on storage that cannot take snapshots"
    )
    assert operation.attempts == 0  # nothing to wait for

    adopted = adopted_container("local-lvm:4", "ct1")
    vmid = adopted.vmid
    url = f"/api/v1/guests/{vmid}/snapshots/"
    run(alice_api.post(url, {"name": "nightly", "description": "ct"}, format="json"))
    assert pve_snapshots(pvesim_root, adopted)["nightly"]["description"] == "ct"
    tree = alice_api.get(url).json()
    assert (tree["count"], tree["limit"]) == (1, None)
    run(alice_api.post(f"{url}nightly/rollback/"))
    run(alice_api.delete(f"{url}nightly/"))
    assert alice_api.get(url).json()["count"] == 0


def test_the_plans_per_guest_limit_and_the_tenants_quota(alice_api, acme, snappy, worker) -> None:
    quota_set(
        tenant=acme,
        limits=Resources(guests=2, vcpus=4, memory_mb=4096, disk_gb=100, snapshots=4),
    )
    snappy.snapshots = 2
    snappy.save()
    web, db = make_vm(alice_api, "web1"), make_vm(alice_api, "db1")
    web_url, db_url = (f"/api/v1/guests/{g.vmid}/snapshots/" for g in (web, db))
    run(alice_api.post(web_url, {"name": "one"}, format="json"))
    run(alice_api.post(web_url, {"name": "two"}, format="json"))
    over_plan = alice_api.post(web_url, {"name": "three"}, format="json")
    assert over_plan.status_code == 400
    assert "plan 'snappy' allows 2 snapshot(s) per guest" in str(over_plan.json())

    # The tenant's quota: 4 in all; with one left, a second request in flight is refused.
    run(alice_api.post(db_url, {"name": "one"}, format="json"))
    quota_set(
        tenant=acme,
        limits=Resources(guests=2, vcpus=4, memory_mb=4096, disk_gb=100, snapshots=3),
    )
    over_quota = alice_api.post(db_url, {"name": "two"}, format="json")
    assert over_quota.status_code == 409
    assert over_quota.json()["exceeded"]["snapshots"] == {
        "used": 3,
        "requested": 1,
        "limit": 3,
    }
    shown = alice_api.get(f"/api/v1/tenants/{acme.slug}/quota/").json()
    assert (shown["used"]["snapshots"], shown["limits"]["snapshots"]) == (3, 3)
    # A delete makes room again.
    run(alice_api.delete(f"{web_url}two/"))
    run(alice_api.post(db_url, {"name": "two"}, format="json"))

    duplicate = alice_api.post(db_url, {"name": "two"}, format="json")
    assert duplicate.status_code == 400
    assert "already has a snapshot 'two'" in str(duplicate.json())
    for bad in ("1abc", "current", "a", "with-dash", "x" * 41):
        assert alice_api.post(db_url, {"name": bad}, format="json").status_code == 400


def test_a_guest_locked_on_pve_is_refused_with_a_clear_reason(
    alice_api, acme_snapshots, snappy, worker, pvesim_root
) -> None:
    vm = make_vm(alice_api)
    url = f"/api/v1/guests/{vm.vmid}/snapshots/"
    config = pvesim_root.nodes(vm.node).qemu(vm.vmid).config
    config.put(lock="backup")  # as during a vzdump
    # The portal has not seen the lock yet: PVE refuses, the worker retries, then gives up.
    operation = failed(alice_api.post(url, {"name": "during_backup"}, format="json"))
    assert operation.error == (
        f"guest {vm.vmid} is locked on PVE (backup): a backup is running; "
        "try again when it has finished"
    )
    assert operation.attempts > 0
    assert not Snapshot.objects.filter(guest=vm).exists()
    assert not Reservation.objects.filter(released_at__isnull=True).exists()
    # Once the portal knows the lock (inventory sync), it refuses at once.
    Guest.objects.filter(pk=vm.pk).update(lock="backup")
    refused = alice_api.post(url, {"name": "during_backup"}, format="json")
    assert refused.status_code == 400
    assert "a backup is running" in str(refused.json())

    config.put(delete="lock", skiplock=1)
    Guest.objects.filter(pk=vm.pk).update(lock="")
    run(alice_api.post(url, {"name": "after_backup"}, format="json"))


def test_snapshots_need_pves_privileges(alice_api, acme_snapshots, snappy, worker) -> None:
    vm = make_vm(alice_api)
    user_create(userid="bob@pve", password="x", tenant=acme_snapshots)
    acl_modify(path=f"/pool/{acme_snapshots.slug}", roles=["PVEAuditor"], users=["bob@pve"])
    bob = APIClient()
    bob.force_authenticate(User.objects.get(username="bob@pve"))
    url = f"/api/v1/guests/{vm.vmid}/snapshots/"
    assert bob.get(url).status_code == 200  # VM.Audit reads the tree
    assert bob.post(url, {"name": "nope"}, format="json").status_code == 403
    run(alice_api.post(url, {"name": "mine"}, format="json"))
    assert bob.post(f"{url}mine/rollback/").status_code == 403
    assert bob.delete(f"{url}mine/").status_code == 403
    assert Snapshot.objects.filter(guest=vm, name="mine").exists()


def test_an_idempotency_key_takes_one_snapshot(
    alice_api, acme_snapshots, snappy, worker, pvesim_root
) -> None:
    vm = make_vm(alice_api)
    url = f"/api/v1/guests/{vm.vmid}/snapshots/"
    first = alice_api.post(url, {"name": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    again = alice_api.post(url, {"name": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="s-1")
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    run(first)
    assert set(pve_snapshots(pvesim_root, vm)) == {"once", "current"}


def test_snapshots_made_on_pve_directly_are_listed_and_counted(
    alice_api, acme_snapshots, snappy, worker, pvesim_root
) -> None:
    vm = make_vm(alice_api)
    upid = pvesim_root.nodes(vm.node).qemu(vm.vmid).snapshot.post(snapname="by_admin")
    assert wait_for_task(pvesim_root, upid)["exitstatus"] == "OK"
    tree = alice_api.get(f"/api/v1/guests/{vm.vmid}/snapshots/").json()
    assert [node["name"] for node in tree["snapshots"]] == ["by_admin"]
    assert tenant_guest_usage(tenant=acme_snapshots).snapshots == 1
