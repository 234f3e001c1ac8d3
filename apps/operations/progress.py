"""Live progress: the worker publishes each change of an operation on the channel layer.

Every event goes to three groups: the operation's own, its tenant's (when it has one) and the
operators'. The websocket consumer (apps/operations/consumers.py) joins them for a page and
re-checks visibility before forwarding, so these groups are a delivery route, not a permission.
Publishing is best effort: the database row stays the truth, and a page that missed an event
reads it from the REST API. A channel layer that is down or slow is logged, never raised.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.operations.models import Operation

# The consumer's handler for these messages is `operation_progress`.
MESSAGE_TYPE = "operation.progress"
OPERATORS_GROUP = "operations.operators"
# A channel layer that does not answer must not hold up the worker.
PUBLISH_TIMEOUT_SECONDS = 2.0

logger = logging.getLogger(__name__)


def operation_group(operation_id: object) -> str:
    return f"operations.operation.{operation_id}"


def tenant_group(tenant_id: object) -> str:
    return f"operations.tenant.{tenant_id}"


def progress_event(operation: Operation) -> dict[str, object]:
    """What a page needs to redraw an operation; the REST API has the rest (task logs)."""
    return {
        "id": str(operation.pk),
        "kind": operation.kind,
        "state": operation.state,
        "target": operation.target,
        "guest": operation.guest.vmid if operation.guest_id else None,
        "error": operation.error,
        "finished_at": operation.finished_at.isoformat() if operation.finished_at else None,
        "steps": [
            {"position": step.position, "name": step.name, "state": step.state, "upid": step.upid}
            for step in operation.steps.order_by("position")
        ],
    }


def progress_groups(operation: Operation) -> list[str]:
    groups = [operation_group(operation.pk)]
    if operation.tenant_id is not None:
        groups.append(tenant_group(operation.tenant_id))
    groups.append(OPERATORS_GROUP)
    return groups


async def _send(layer, groups: list[str], event: dict[str, object]) -> None:
    async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
        for group in groups:
            # The group travels with the message: a consumer in several groups drops copies.
            await layer.group_send(group, {"type": MESSAGE_TYPE, "group": group, "event": event})


def progress_publish(operation: Operation) -> None:
    """Tell live pages the operation's current state. Never raises."""
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(_send)(layer, progress_groups(operation), progress_event(operation))
    except Exception as error:  # a live page is a nicety; the operation must go on
        logger.warning("publishing progress of operation %s failed: %r", operation.pk, error)
