"""Operations (filters; cancel and retry through the operations services, audited) and the
audit log with its filters."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.audit.services import Actor, audit_record
from apps.operations.models import Operation

pytestmark = pytest.mark.django_db


def listed(client, **filters) -> set[str]:
    page = client.get("/operator/operations/", filters).content.decode()
    return set(re.findall(r'<tr data-operation="([^"]+)"', page))


@pytest.fixture
def operations(backoffice) -> dict[str, Operation]:
    first, second = backoffice.portal.add_guests(2)
    return {
        "failed": backoffice.power_operation(first, state="failed"),
        "running": backoffice.power_operation(second, state="running"),
        "foreign": backoffice.power_operation(
            backoffice.portal.foreign, state="succeeded", actor="billing"
        ),
    }


def test_operation_filters(backoffice, operations) -> None:
    ids = {name: str(operation.pk) for name, operation in operations.items()}
    client = backoffice.client
    assert listed(client) == set(ids.values())
    assert listed(client, errors_only="on") == {ids["failed"]}
    assert listed(client, vmid=200) == {ids["foreign"]}
    assert listed(client, vmid=1000) == {ids["failed"]}
    assert listed(client, kind="guest.stop") == set(ids.values())
    assert listed(client, kind="guest.start") == set()
    assert listed(client, actor="billing") == {ids["foreign"]}
    assert listed(client, actor="alice@pve") == {ids["failed"], ids["running"]}
    assert listed(client, tenant="other") == {ids["foreign"]}
    assert listed(client, cluster="c1") == set(ids.values())
    assert listed(client, cluster="c2") == set()
    assert listed(client, errors_only="on", tenant="other") == set()


def test_an_invalid_filter_filters_nothing_and_says_why(backoffice, operations) -> None:
    page = backoffice.client.get("/operator/operations/", {"vmid": "abc", "tenant": "other"})
    assert 'aria-invalid="true"' in page.content.decode()
    assert set(re.findall(r'<tr data-operation="([^"]+)"', page.content.decode())) == {
        str(operations["foreign"].pk)
    }


def test_buttons_where_the_services_allow_them(backoffice, operations) -> None:
    page = backoffice.client.get("/operator/operations/").content.decode()

    def row(name: str) -> str:
        start = page.index(f'<tr data-operation="{operations[name].pk}"')
        return page[start : page.index("</tr>", start)]

    assert "Retry" in row("failed")
    assert "Cancel" not in row("failed")
    assert "Cancel" in row("running")
    assert "Retry" not in row("running")
    assert "Retry" not in row("foreign")
    assert "Cancel" not in row("foreign")
    assert f"/operations/{operations['failed'].pk}/" in row("failed")  # its steps and log


def test_cancel_goes_through_the_service_and_is_audited(backoffice, operations) -> None:
    running = operations["running"]
    back = "/operator/operations/?errors_only=&tenant=acme"
    response = backoffice.client.post(f"/operator/operations/{running.pk}/cancel/", {"next": back})
    assert response.status_code == 302
    assert response["Location"] == back
    running.refresh_from_db()
    assert running.cancel_requested_by == "op@pve"
    event = AuditEvent.objects.get(action="operations.cancel")
    assert (event.actor, event.detail["operation"]) == ("op@pve", str(running.pk))


def test_retry_goes_through_the_service_and_is_audited(backoffice, operations) -> None:
    failed = operations["failed"]
    response = backoffice.client.post(f"/operator/operations/{failed.pk}/retry/", follow=True)
    assert "guest.stop of /vms/1000 queued again." in response.content.decode()
    retry = Operation.objects.get(params__retry_of=str(failed.pk))
    assert (retry.kind, retry.state, retry.actor) == ("guest.stop", "pending", "op@pve")
    assert AuditEvent.objects.get(action="operations.retry").detail["operation"] == str(retry.pk)


def test_refused_actions_change_nothing(backoffice, operations) -> None:
    before = set(Operation.objects.values_list("pk", "state", "cancel_requested_by"))
    events = AuditEvent.objects.count()
    client = backoffice.client
    answer = client.post(f"/operator/operations/{operations['foreign'].pk}/cancel/", follow=True)
    assert "already succeeded" in answer.content.decode()
    answer = client.post(f"/operator/operations/{operations['running'].pk}/retry/", follow=True)
    assert "only failed or cancelled ones are retried" in answer.content.decode()
    create = operations["failed"]
    Operation.objects.filter(pk=create.pk).update(kind="guest.create")
    answer = client.post(f"/operator/operations/{create.pk}/retry/", follow=True)
    assert "cannot be retried" in answer.content.decode()
    missing = "/operator/operations/00000000-0000-0000-0000-000000000000/cancel/"
    assert client.post(missing).status_code == 404
    # An address elsewhere is not followed back.
    answer = client.post(
        f"/operator/operations/{operations['foreign'].pk}/cancel/",
        {"next": "https://evil.example/"},
    )
    assert answer["Location"] == "/operator/operations/"
    Operation.objects.filter(pk=create.pk).update(kind="guest.stop")
    assert set(Operation.objects.values_list("pk", "state", "cancel_requested_by")) == before
    assert AuditEvent.objects.count() == events


def events(client, **filters) -> list[str]:
    page = client.get("/operator/audit/", filters).content.decode()
    return re.findall(r"<code>([a-z_.]+)</code>", page)


def test_audit_log_filters(backoffice) -> None:
    AuditEvent.objects.all().delete()
    operator = Actor.user(backoffice.operator)
    audit_record(action="tenancy.tenant_suspended", actor=operator, target="acme")
    audit_record(action="guests.renamed", actor=Actor.system("billing"), target="/vms/200")
    old = audit_record(action="tenancy.tenant_unsuspended", actor=Actor.system(), target="acme")
    AuditEvent.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=10))
    client = backoffice.client
    assert sorted(events(client)) == [
        "guests.renamed",
        "tenancy.tenant_suspended",
        "tenancy.tenant_unsuspended",
    ]
    assert events(client, actor="op@pve") == ["tenancy.tenant_suspended"]
    assert sorted(events(client, action="tenancy.")) == [
        "tenancy.tenant_suspended",
        "tenancy.tenant_unsuspended",
    ]
    assert events(client, target="/vms/") == ["guests.renamed"]
    today = timezone.localdate()
    assert "tenancy.tenant_unsuspended" not in events(client, since=today.isoformat())
    assert events(client, until=(today - timedelta(days=5)).isoformat()) == [
        "tenancy.tenant_unsuspended"
    ]
    page = client.get("/operator/audit/", {"since": "yesterday"}).content.decode()
    assert 'aria-invalid="true"' in page
    assert len(re.findall(r"<tr data-event=", page)) == 3
