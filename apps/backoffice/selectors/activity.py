"""Operations and audit events as operators filter them. Every filter is optional; an empty
value filters nothing."""

from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.operations.models import Operation
from apps.operations.services import QUOTA_KINDS, RETRYABLE_STATES

ERROR_STATES = (Operation.State.FAILED, Operation.State.CANCELLED)


def operation_search(
    *,
    errors_only: bool = False,
    vmid: int | None = None,
    kind: str = "",
    actor: str = "",
    tenant: str = "",
    cluster: str = "",
) -> QuerySet[Operation]:
    operations = Operation.objects.select_related("guest", "tenant", "cluster").prefetch_related(
        "steps"
    )
    if errors_only:
        operations = operations.filter(state__in=ERROR_STATES)
    if vmid is not None:
        operations = operations.filter(guest__vmid=vmid)
    if kind:
        operations = operations.filter(kind=kind)
    if actor:
        operations = operations.filter(actor=actor)
    if tenant:
        operations = operations.filter(tenant__slug=tenant)
    if cluster:
        operations = operations.filter(cluster__name=cluster)
    return operations.order_by("-created_at")


def may_offer_retry(operation: Operation) -> bool:
    """Whether operation_retry would take it: ended badly, and a power action or a delete (its
    steps re-run from scratch). The service decides again on the post."""
    if operation.state not in RETRYABLE_STATES or operation.kind in QUOTA_KINDS:
        return False
    steps = [step.name for step in operation.steps.all()]
    return operation.kind == "guest.delete" or steps == ["guest_power"]


def _day_start(day: date) -> datetime:
    """Midnight in the operator's time zone, so the bounds use the index on `at`."""
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_search(
    *,
    actor: str = "",
    action: str = "",
    target: str = "",
    since: date | None = None,
    until: date | None = None,
) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if actor:
        events = events.filter(actor=actor)
    if action:
        # `tenancy.` finds every tenancy event, `tenancy.tenant_suspended` that one.
        events = events.filter(action__startswith=action)
    if target:
        events = events.filter(target__startswith=target)
    if since:
        events = events.filter(at__gte=_day_start(since))
    if until:
        events = events.filter(at__lt=_day_start(until + timedelta(days=1)))
    return events.order_by("-at", "-id")
