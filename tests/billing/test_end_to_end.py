"""The contract on pvesim, to the end of every operation: create, suspend, unsuspend, change
package, change password, terminate after the grace period."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.billing.models import Customer, Service
from apps.billing.terminations import terminations_due
from apps.guests.models import Guest
from apps.guests.services import guests_sync, images_sync
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.tenancy.models import Plan, Tenant
from tests.billing.conftest import deliver, event, poll
from tests.guests.conftest import wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def plans(cluster, integration) -> dict[str, Plan]:
    guests_sync(cluster=cluster)  # VM templates
    images_sync(cluster=cluster)  # container templates
    integration.default_cluster = cluster
    integration.save()
    return {
        slug: Plan.objects.create(name=slug, slug=slug, cores=cores, memory_mb=mem, disk_gb=disk)
        for slug, cores, mem, disk in (("small", 1, 1024, 20), ("medium", 2, 2048, 30))
    }


def accepted(response) -> list[Operation]:
    """The operations a 202 answer started, once each has succeeded."""
    assert response.status_code == 202, response.content
    ended = [wait_until_terminal(pk, timeout=60) for pk in response.json()["operations"]]
    assert [op.state for op in ended] == ["succeeded"] * len(ended), [op.error for op in ended]
    return ended


def pve_config(pvesim_root, guest: Guest) -> dict:
    return getattr(pvesim_root.nodes(guest.node), guest.type)(guest.vmid).config.get()


def test_a_service_from_creation_to_termination(plans, worker, pvesim_root) -> None:
    created = accepted(
        deliver(
            event(
                "evt-create",
                "service.create",
                service="svc-1",
                customer={"id": "42", "name": "ACME Ltd"},
                plan="small",
                template=9000,
                hostname="web1",
                credentials={"user": "alice", "password": "cloud-pass-1"},
            )
        )
    )
    service = Service.objects.get(external_id="svc-1")
    guest = Guest.objects.get(pk=created[0].guest_id)
    tenant = Customer.objects.get(external_id="42").tenant
    assert (tenant.slug, tenant.name) == ("whmcs-42", "ACME Ltd")
    assert (service.guest, service.vmid, guest.tenant) == (guest, guest.vmid, tenant)
    assert guest.status == "running"
    assert created[0].actor == "billing@pve"
    assert pve_config(pvesim_root, guest)["ciuser"] == "alice"
    assert poll("evt-create").json()["operations"][0]["state"] == "succeeded"

    # The tenant's own user, to see what suspension does to the portal.
    owner_user = user_create(userid="owner@pve", password="x", tenant=tenant)
    acl_modify(path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=["owner@pve"])
    owner = APIClient()
    owner.force_authenticate(owner_user)

    accepted(deliver(event("evt-suspend", "service.suspend", service="svc-1")))
    guest.refresh_from_db()
    tenant.refresh_from_db()
    assert (guest.status, tenant.status) == ("stopped", Tenant.Status.SUSPENDED)
    refused = owner.post(f"/api/v1/guests/{guest.vmid}/status/start/")
    assert refused.status_code == 400
    assert "read-only" in str(refused.json())
    assert pvesim_root.nodes(guest.node).qemu(guest.vmid).status.current.get()["status"] == (
        "stopped"
    )

    accepted(deliver(event("evt-unsuspend", "service.unsuspend", service="svc-1")))
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE
    started = owner.post(f"/api/v1/guests/{guest.vmid}/status/start/")
    assert wait_until_terminal(started.json()["id"]).state == "succeeded"

    accepted(deliver(event("evt-grow", "service.change_package", service="svc-1", plan="medium")))
    guest.refresh_from_db()
    assert (guest.cores, guest.memory_mb, guest.disk_gb) == (2, 2048, 30)
    assert "size=30G" in pve_config(pvesim_root, guest)["scsi0"]
    shrink = deliver(event("evt-shrink", "service.change_package", service="svc-1", plan="small"))
    assert shrink.status_code == 409
    assert "PVE cannot shrink disks" in shrink.json()["error"]

    accepted(
        deliver(event("evt-pw", "service.change_password", service="svc-1", password="new-pw-2"))
    )
    assert "cipassword" in pve_config(pvesim_root, guest)

    terminating = deliver(event("evt-terminate", "service.terminate", service="svc-1"))
    accepted(terminating)
    terminate_at = datetime.datetime.fromisoformat(terminating.json()["terminate_at"])
    assert terminate_at > timezone.now() + datetime.timedelta(hours=71)
    guest.refresh_from_db()
    assert guest.status == "stopped"
    assert terminations_due() == []  # the grace period is not over
    assert Service.objects.get(pk=service.pk).state == Service.State.TERMINATING

    (deletion,) = terminations_due(now=terminate_at + datetime.timedelta(seconds=1))
    assert wait_until_terminal(deletion.pk, timeout=60).state == "succeeded"
    service.refresh_from_db()
    assert (service.state, service.guest, service.vmid) == ("terminated", None, guest.vmid)
    assert not Guest.objects.filter(pk=guest.pk).exists()
    vmids = [vm["vmid"] for vm in pvesim_root.cluster.resources.get(type="vm")]
    assert guest.vmid not in vmids
    assert terminations_due(now=terminate_at + datetime.timedelta(days=1)) == []


def test_a_renewal_calls_a_pending_termination_off(plans, worker) -> None:
    accepted(
        deliver(
            event(
                "evt-c",
                "service.create",
                service="svc-2",
                customer={"id": "7", "name": "Beta"},
                plan="small",
                template=9000,
                hostname="db1",
            )
        )
    )
    accepted(deliver(event("evt-t", "service.terminate", service="svc-2")))
    renewed = deliver(event("evt-r", "service.renew", service="svc-2", paid_until="2027-02-28"))
    assert renewed.status_code == 202
    service = Service.objects.get(external_id="svc-2")
    assert (service.state, service.terminate_at, str(service.paid_until)) == (
        "active",
        None,
        "2027-02-28",
    )
    later = timezone.now() + datetime.timedelta(days=30)
    assert terminations_due(now=later) == []
    assert service.guest is not None


def test_containers_cannot_have_their_password_changed(plans, worker) -> None:
    accepted(
        deliver(
            event(
                "evt-ct",
                "service.create",
                service="svc-ct",
                customer={"id": "8", "name": "Gamma"},
                plan="small",
                template="local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
                hostname="ct1",
                credentials={"password": "root-pass-1"},
            )
        )
    )
    answer = deliver(
        event("evt-ct-pw", "service.change_password", service="svc-ct", password="x" * 8)
    )
    assert answer.status_code == 400
    assert "PVE's API cannot set a container's password" in answer.json()["error"]


def test_refusals_are_answered_with_their_reason(plans) -> None:
    unknown_plan = deliver(
        event(
            "evt-p",
            "service.create",
            service="svc-3",
            customer={"id": "9"},
            plan="huge",
            template=9000,
            hostname="x1",
        )
    )
    assert (unknown_plan.status_code, unknown_plan.json()["error"]) == (400, "no plan 'huge'")
    wrong_region = deliver(
        event(
            "evt-r",
            "service.create",
            service="svc-3",
            customer={"id": "9"},
            plan="small",
            template=9000,
            region="elsewhere",
            hostname="x1",
        )
    )
    assert wrong_region.status_code == 400
    assert "not in region 'elsewhere'" in wrong_region.json()["error"]
    assert not Tenant.objects.filter(slug="whmcs-9").exists()  # a refusal leaves nothing behind
    missing = deliver(event("evt-m", "service.suspend", service="svc-404"))
    assert (missing.status_code, missing.json()["error"]) == (404, "no service 'svc-404'")
