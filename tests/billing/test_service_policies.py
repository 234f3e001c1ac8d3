"""What a billing system's decisions do to one service among several: suspending it makes its
guest read-only while the tenant keeps its other services; terminating it deletes its
unprotected backups when the policy says so, and keeps the protected ones."""

import datetime
import uuid

import pytest
from rest_framework.test import APIClient

from apps.access.services import acl_modify
from apps.backups.models import Backup
from apps.backups.services import backup_create
from apps.billing.models import Service
from apps.billing.terminations import terminations_due
from apps.guests.models import Guest
from apps.identity.services.users import user_create
from apps.tenancy.models import Plan, Tenant
from tests.billing.conftest import deliver, event
from tests.billing.test_end_to_end import accepted, plans  # noqa: F401 (fixture)
from tests.guests.conftest import wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


def create(service: str, hostname: str, customer: str) -> Guest:
    """A service of `customer`: fresh per test, as pvesim keeps the pools of earlier tests."""
    [operation] = accepted(
        deliver(
            event(
                f"evt-create-{service}",
                "service.create",
                service=service,
                customer={"id": customer, "name": "Two Services Ltd"},
                plan="small",
                template=9000,
                hostname=hostname,
            )
        )
    )
    return Guest.objects.get(pk=operation.guest_id)


def test_a_suspended_service_is_read_only_alone(plans, worker) -> None:  # noqa: F811
    customer = uuid.uuid4().hex[:8]
    first, second = create("svc-a", "web1", customer), create("svc-b", "web2", customer)
    tenant = first.tenant
    owner = user_create(userid="owner@pve", password="x", tenant=tenant)
    acl_modify(path=f"/pool/{tenant.slug}", roles=["PVEVMAdmin"], users=["owner@pve"])
    client = APIClient()
    client.force_authenticate(owner)

    accepted(deliver(event("evt-suspend-a", "service.suspend", service="svc-a")))
    first.refresh_from_db()
    tenant.refresh_from_db()
    assert (first.status, first.suspended, tenant.status) == ("stopped", True, "active")
    refused = client.post(f"/api/v1/guests/{first.vmid}/status/start/")
    assert refused.status_code == 400
    assert f"guest {first.vmid} is suspended: it is read-only" in str(refused.json())
    # The other service's guest is the owner's as before.
    stopped = client.post(f"/api/v1/guests/{second.vmid}/status/stop/")
    assert wait_until_terminal(stopped.json()["id"]).state == "succeeded"
    page = APIClient()
    page.force_login(owner)
    assert "This guest is suspended" in page.get(f"/guests/{first.vmid}/").content.decode()

    accepted(deliver(event("evt-unsuspend-a", "service.unsuspend", service="svc-a")))
    first.refresh_from_db()
    assert first.suspended is False
    started = client.post(f"/api/v1/guests/{first.vmid}/status/start/")
    assert wait_until_terminal(started.json()["id"]).state == "succeeded"
    assert Tenant.objects.get(pk=tenant.pk).status == "active"


def test_termination_deletes_unprotected_backups_by_policy(
    plans,  # noqa: F811
    worker,
    settings,
    pvesim_root,
) -> None:
    settings.BILLING_TERMINATION_BACKUPS = "delete"
    Plan.objects.filter(slug="small").update(backups=3)
    guest = create("svc-t", "web1", uuid.uuid4().hex[:8])
    principal = Service.objects.get(external_id="svc-t").integration.principal
    for protected in (True, False):
        operation = backup_create(guest=guest, actor=principal, protected=protected)
        assert wait_until_terminal(operation.pk, timeout=60).state == "succeeded"
    kept, dropped = (
        Backup.objects.get(vmid=guest.vmid, protected=True),
        Backup.objects.get(vmid=guest.vmid, protected=False),
    )

    terminating = deliver(event("evt-terminate-t", "service.terminate", service="svc-t"))
    accepted(terminating)
    terminate_at = datetime.datetime.fromisoformat(terminating.json()["terminate_at"])
    operations = terminations_due(now=terminate_at + datetime.timedelta(seconds=1))
    assert sorted(op.kind for op in operations) == ["backup.delete", "guest.delete"]
    for operation in operations:
        assert wait_until_terminal(operation.pk, timeout=60).state == "succeeded"
    listed = {
        v["volid"]
        for v in pvesim_root.nodes(kept.node).storage(kept.storage).content.get(content="backup")
    }
    assert kept.volid in listed
    assert dropped.volid not in listed
    assert Backup.objects.get(pk=dropped.pk).vanished_at is not None
