"""Creating a VM from a template through the API: quota, placement, operation, cleanup."""

import time

import pytest
from rest_framework.test import APIClient

from apps.guests.models import Guest
from apps.guests.selectors import tenant_guest_usage
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.tenancy.models import Plan, Reservation
from apps.tenancy.resources import Resources
from tests.guests.conftest import wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


def test_create_runs_every_step_and_the_guest_counts_against_the_quota(
    alice_api, acme, small, worker, pvesim_root
) -> None:
    response = alice_api.post(
        "/api/v1/guests/",
        {
            "name": "web1",
            "plan": "small",
            "template": 9000,
            "user": "alice",
            "ssh_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG alice@laptop",
        },
        format="json",
    )

    assert response.status_code == 202, response.content
    operation = wait_until_terminal(response.json()["id"])
    assert operation.state == "succeeded", operation.error
    assert [s.name for s in operation.steps.all()] == [
        "tenant_pool",
        "guest_clone",
        "guest_configure",
        "guest_grow_disk",
        "guest_power",
    ]
    guest = Guest.objects.get(pk=operation.guest_id)
    assert (guest.status, guest.tenant, guest.pool) == ("running", acme, acme.slug)
    config = pvesim_root.nodes(guest.node).qemu(guest.vmid).config.get()
    # memory is a property string since PVE 8 ("[current=]<MiB>").
    assert (config["cores"], str(config["memory"]), config["ciuser"]) == (2, "2048", "alice")
    assert "size=40G" in config["scsi0"]
    assert str(guest.vmid) in {
        str(m["vmid"]) for m in pvesim_root.pools(acme.slug).get()["members"]
    }
    assert tenant_guest_usage(tenant=acme) == Resources(
        guests=1, vcpus=2, memory_mb=2048, disk_gb=40
    )
    assert not Reservation.objects.filter(released_at__isnull=True).exists()

    # The second guest would need 4 + 2 vCPUs of 4: refused with what is exceeded, nothing made.
    refused = alice_api.post(
        "/api/v1/guests/", {"name": "web2", "plan": "big", "template": 9000}, format="json"
    )
    assert refused.status_code == 404  # no such plan
    Plan.objects.create(name="Big", slug="big", cores=4, memory_mb=1024, disk_gb=10)
    refused = alice_api.post(
        "/api/v1/guests/", {"name": "web2", "plan": "big", "template": 9000}, format="json"
    )
    assert refused.status_code == 409
    assert refused.json()["exceeded"] == {"vcpus": {"used": 2, "requested": 4, "limit": 4}}
    assert Guest.objects.filter(tenant=acme).count() == 1

    deleted = alice_api.delete(f"/api/v1/guests/{guest.vmid}/")
    assert deleted.status_code == 202
    assert wait_until_terminal(deleted.json()["id"]).state == "succeeded"
    assert not Guest.objects.filter(pk=guest.pk).exists()
    assert tenant_guest_usage(tenant=acme) == Resources()
    assert str(guest.vmid) not in {
        str(r["vmid"]) for r in pvesim_root.cluster.resources.get(type="vm")
    }


def test_a_failed_create_releases_the_quota_and_leaves_no_half_guest(
    alice_api, acme, small, worker, pvesim_faults, pvesim_root
) -> None:
    pvesim_faults(
        rules=[
            {
                "match": r"^POST /nodes/[^/]+/qemu/\d+/status/start$",
                "error_rate": 1.0,
                "status": 500,
                "message": "start refused",
            }
        ]
    )

    response = alice_api.post(
        "/api/v1/guests/", {"name": "doomed", "plan": "small", "template": 9000}, format="json"
    )

    operation = wait_until_terminal(response.json()["id"])
    assert operation.state == "failed"
    assert "start refused" in operation.error
    assert not Reservation.objects.filter(released_at__isnull=True).exists()
    assert tenant_guest_usage(tenant=acme) == Resources()
    guest = Guest.objects.get(pk=operation.guest_id)
    assert guest.status == "destroyed"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        vmids = {int(r["vmid"]) for r in pvesim_root.cluster.resources.get(type="vm")}
        if guest.vmid not in vmids:
            break
        time.sleep(0.1)
    assert guest.vmid not in vmids


def test_bad_input_is_refused_and_changes_nothing(alice_api, acme, small) -> None:
    cases = [
        ({"name": "bad name!", "plan": "small", "template": 9000}, 400),
        ({"name": "ok", "plan": "small", "template": 123456}, 400),
        ({"name": "ok", "plan": "small", "template": 9000, "tenant": "someone-else"}, 404),
        ({"plan": "small", "template": 9000}, 400),
    ]
    for body, expected in cases:
        assert alice_api.post("/api/v1/guests/", body, format="json").status_code == expected
    assert not Operation.objects.exists()
    assert not Guest.objects.filter(tenant=acme).exists()


def test_a_user_without_allocate_on_the_tenant_pool_is_refused(acme, small) -> None:
    bob = user_create(userid="bob@pve", password="x", tenant=acme)
    client = APIClient()
    client.force_authenticate(bob)
    response = client.post(
        "/api/v1/guests/", {"name": "x", "plan": "small", "template": 9000}, format="json"
    )
    assert response.status_code == 403
    assert f"(/pool/{acme.slug}, VM.Allocate)" in response.json()["detail"]
    assert not Operation.objects.exists()


def test_cancelling_a_create_aborts_its_task_and_cleans_up(
    alice_api, acme, small, worker, pvesim_faults, pvesim_root
) -> None:
    # A slow clone, so the cancel arrives while PVE's task runs.
    pvesim_faults(rules=[{"match": r"^GET /nodes/[^/]+/tasks/.*/status$", "latency_ms": 300}])
    created = alice_api.post(
        "/api/v1/guests/", {"name": "slow", "plan": "small", "template": 9000}, format="json"
    ).json()
    deadline = time.monotonic() + 10
    while not Operation.objects.filter(
        pk=created["id"], steps__name="guest_clone", steps__upid__gt=""
    ).exists():
        assert time.monotonic() < deadline, "the clone never started"
        time.sleep(0.02)

    response = alice_api.post(f"/api/v1/operations/{created['id']}/cancel/")

    assert response.status_code == 202
    operation = wait_until_terminal(created["id"])
    assert operation.state == "cancelled"
    assert operation.error == "cancelled by alice@pve"
    assert not Reservation.objects.filter(released_at__isnull=True).exists()
    again = alice_api.post(f"/api/v1/operations/{created['id']}/cancel/")
    assert again.status_code == 400
    assert "already cancelled" in str(again.json())


def test_a_container_from_a_template_image_runs_and_is_deleted(
    alice_api, acme, small, worker, cluster, pvesim_root
) -> None:
    from apps.guests.services import images_sync

    assert images_sync(cluster=cluster) > 0
    images = alice_api.get("/api/v1/images/?content=vztmpl").json()["results"]
    ostemplate = next(i["volid"] for i in images if "debian-12-standard" in i["volid"])

    response = alice_api.post(
        "/api/v1/guests/",
        {
            "name": "ct1",
            "plan": "small",
            "ostemplate": ostemplate,
            "password": "Secret-12",
            "ssh_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG alice@laptop",
        },
        format="json",
    )

    assert response.status_code == 202, response.content
    operation = wait_until_terminal(response.json()["id"])
    assert operation.state == "succeeded", operation.error
    guest = Guest.objects.get(pk=operation.guest_id)
    assert (guest.type, guest.status) == ("lxc", "running")
    config = pvesim_root.nodes(guest.node).lxc(guest.vmid).config.get()
    assert (config["hostname"], int(config["cores"]), int(config["memory"])) == ("ct1", 2, 2048)
    assert config["rootfs"].endswith("size=40G")
    assert tenant_guest_usage(tenant=acme) == Resources(
        guests=1, vcpus=2, memory_mb=2048, disk_gb=40
    )

    deleted = alice_api.delete(f"/api/v1/guests/{guest.vmid}/")
    assert wait_until_terminal(deleted.json()["id"]).state == "succeeded"
    assert tenant_guest_usage(tenant=acme) == Resources()


def test_create_needs_exactly_one_of_template_and_ostemplate(alice_api, acme, small) -> None:
    both = alice_api.post(
        "/api/v1/guests/",
        {"name": "x", "plan": "small", "template": 9000, "ostemplate": "local:vztmpl/x.tar.zst"},
        format="json",
    )
    assert both.status_code == 400
    assert "give one of template" in str(both.json())
    unknown = alice_api.post(
        "/api/v1/guests/",
        {"name": "x", "plan": "small", "ostemplate": "local:vztmpl/none.tar.zst"},
        format="json",
    )
    assert unknown.status_code == 400
    assert not Operation.objects.exists()


def test_resize_to_a_bigger_plan_and_refusals(alice_api, acme, small, worker, pvesim_root) -> None:
    created = alice_api.post(
        "/api/v1/guests/", {"name": "grow", "plan": "small", "template": 9000}, format="json"
    ).json()
    guest = Guest.objects.get(pk=wait_until_terminal(created["id"]).guest_id)
    Plan.objects.create(name="Medium", slug="medium", cores=3, memory_mb=3072, disk_gb=60)
    Plan.objects.create(name="Tiny", slug="tiny", cores=1, memory_mb=512, disk_gb=10)
    Plan.objects.create(name="Huge", slug="huge", cores=8, memory_mb=2048, disk_gb=60)

    shrink = alice_api.post(f"/api/v1/guests/{guest.vmid}/resize/", {"plan": "tiny"}, format="json")
    assert shrink.status_code == 400
    assert "cannot shrink disks" in str(shrink.json())
    over = alice_api.post(f"/api/v1/guests/{guest.vmid}/resize/", {"plan": "huge"}, format="json")
    assert over.status_code == 409
    assert over.json()["exceeded"] == {"vcpus": {"used": 2, "requested": 6, "limit": 4}}

    grown = alice_api.post(
        f"/api/v1/guests/{guest.vmid}/resize/", {"plan": "medium"}, format="json"
    )
    assert grown.status_code == 202
    operation = wait_until_terminal(grown.json()["id"])
    assert operation.state == "succeeded", operation.error
    config = pvesim_root.nodes(guest.node).qemu(guest.vmid).config.get()
    assert (config["cores"], str(config["memory"])) == (3, "3072")
    assert "size=60G" in config["scsi0"]
    assert tenant_guest_usage(tenant=acme) == Resources(
        guests=1, vcpus=3, memory_mb=3072, disk_gb=60
    )
    assert not Reservation.objects.filter(released_at__isnull=True).exists()
