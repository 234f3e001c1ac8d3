"""The operations back-office: lists, step detail, cancel."""

import pytest

from apps.audit.services import Actor
from apps.clusters.models import Cluster
from apps.identity.services.users import user_create
from apps.operations.models import Operation
from apps.operations.services import operation_create

pytestmark = pytest.mark.django_db


def test_operations_and_guests_pages_and_the_cancel_action(client) -> None:
    client.force_login(user_create(userid="op@pve", password="x", is_staff=True))
    cluster = Cluster.objects.create(
        name="c", api_addresses=["h"], token_id="a@pve!t", token_secret="s", fingerprint="AA"
    )
    operation = operation_create(
        kind="guest.start",
        cluster=cluster,
        target="/vms/100",
        actor=Actor.system(),
        steps=[("guest_power", {"action": "start"})],
    )

    assert "/vms/100" in client.get("/admin/operations/operation/").content.decode()
    detail = client.get(f"/admin/operations/operation/{operation.pk}/change/").content.decode()
    assert "guest_power" in detail
    assert client.get("/admin/guests/guest/").status_code == 200
    assert client.get("/admin/guests/image/").status_code == 200

    client.post(
        "/admin/operations/operation/", {"action": "cancel", "_selected_action": [operation.pk]}
    )
    assert Operation.objects.get(pk=operation.pk).cancel_requested_by == "op@pve"
