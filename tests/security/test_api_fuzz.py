"""Schemathesis drives every operation of /api/schema/ in-process (WSGI) as a tenant's API token
over a seeded world (a running VM and a container on pvesim, a snapshot, a backup, a schedule,
an operation): no answer is a 500 and every answer conforms to the schema. Path parameters are
pinned to the world's objects, so the generated bodies and queries reach the real code, not 404s.
The operators' endpoints (clusters, nodes), missing for a tenant, get a run of their own as an
operator's token. The number of examples per operation is bounded and the generation
derandomized: the same cases on every run."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
)

from apps.access.services import token_create
from apps.audit.services import Actor
from apps.backups.models import Backup, BackupSchedule
from apps.operations.services import operation_create
from apps.tenancy.models import Plan
from tests.consoles.fixtures import wait_for_task

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES_PER_OPERATION = 10
OPERATOR_ONLY_PATH = "/api/v1/clusters/"
# The schema documents each operation's success; its refusals (400, 404, 409) are DRF's error
# bodies, described in the API docs rather than per operation, so the status code itself is not
# checked against the document. A request sent without the token must be refused.
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
    ignored_auth,
]


@pytest.fixture
def world(console_cluster, tenant, alice, running_vm, running_ct, pvesim_root) -> dict:
    wait_for_task(
        pvesim_root,
        pvesim_root.nodes("pve1").qemu(running_vm.vmid).snapshot.post(snapname="before"),
    )
    Plan.objects.create(name="Small", slug="small", cores=1, memory_mb=1024, disk_gb=10)
    backup = Backup.objects.create(
        cluster=console_cluster,
        tenant=tenant,
        guest=running_vm,
        vmid=running_vm.vmid,
        storage="local",
        volid=f"local:backup/vzdump-qemu-{running_vm.vmid}-2026_01_01-00_00_00.vma.zst",
    )
    schedule = BackupSchedule.objects.create(tenant=tenant, schedule="02:30")
    operation = operation_create(
        kind="guest.start",
        cluster=console_cluster,
        guest=running_vm,
        tenant=tenant,
        target=running_vm.acl_path,
        actor=Actor.system(),
        steps=[("guest_power", {"action": "start"})],
    )
    _token, secret = token_create(user=alice, name="fuzz", privsep=False)
    return {
        "headers": {"Authorization": f"Bearer alice@pve!fuzz={secret}"},
        "path": {
            "vmid": running_vm.vmid,
            "name": "before",
            "backup_id": backup.pk,
            "schedule_id": schedule.pk,
            "operation_id": str(operation.pk),
            "slug": tenant.slug,
        },
    }


# Loaded once, at collection: the document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


def _fuzz_operation(operation, *, headers: dict, path: dict) -> set[int]:
    """A bounded, derandomized run of one operation, its path parameters pinned to `path`: the
    status codes it answered."""
    answered = set()

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case) -> None:
        for parameter, value in path.items():
            if parameter in (case.path_parameters or {}):
                case.path_parameters[parameter] = value
        answered.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    call()
    return answered


def _fuzz(operations, *, headers: dict, path: dict) -> tuple[dict, dict]:
    """The failures and the status codes answered, by operation."""
    failures, statuses = {}, {}
    for operation in operations:
        try:
            statuses[operation.label] = _fuzz_operation(operation, headers=headers, path=path)
        except (AssertionError, FailureGroup) as failure:
            failures[operation.label] = str(failure)
    return failures, statuses


def _report(failures: dict) -> str:
    return "\n\n".join(f"{label}: {text}" for label, text in failures.items())


def test_api_answers_within_its_schema_and_never_fails(world) -> None:
    """One world for every operation (it takes seconds to seed on pvesim); a failure names the
    operation."""
    operations = [result.ok() for result in schema.get_all_operations()]
    failures, _statuses = _fuzz(operations, headers=world["headers"], path=world["path"])
    assert not failures, _report(failures)


def test_operator_api_answers_within_its_schema_and_never_fails(console_cluster, operator) -> None:
    """The clusters and nodes exist for operators only (a tenant's token gets 404s above): fuzzed
    as an operator's token, each answers a success that conforms to the schema at least once.
    None of them is destructive: sync is queued, the connection test only reads, and
    maintenance is a placement flag that moves no guest."""
    _token, secret = token_create(user=operator, name="fuzz", privsep=False)
    operations = [
        operation
        for operation in (result.ok() for result in schema.get_all_operations())
        if operation.path.startswith(OPERATOR_ONLY_PATH)
    ]
    failures, statuses = _fuzz(
        operations,
        headers={"Authorization": f"Bearer op@pve!fuzz={secret}"},
        path={"name": console_cluster.name, "node": "pve1"},
    )
    assert not failures, _report(failures)
    assert len(operations) == 7
    never_succeeded = {
        label for label, answered in statuses.items() if not any(200 <= s < 300 for s in answered)
    }
    assert never_succeeded == set()
