"""Live progress of operations over a websocket (`ws/operations/`).

A page sends `{"subscribe": "<operation id>"}` to follow one operation, or `{"subscribe": "all"}`
to follow every operation of the user's tenant (operators: every operation); `unsubscribe` takes
the same values. Each event is `{"type": "operation.progress", "operation": {...}}` with the
shape of `apps.operations.progress.progress_event`, and is forwarded only while the user may see
that operation through the REST API (`selectors.operation_get`); a missing and a foreign
operation both answer `{"error": "not found"}`. Subscribing to one operation answers
`{"subscribed": "<id>"}` followed by its current state as an event, so a page that loaded it a
moment earlier misses nothing in between.
"""

import json
import uuid

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.http import Http404

from apps.core.consumers import EndsWhenTheChannelLayerFails
from apps.operations import progress, selectors

ALL = "all"
# One page follows a handful of operations; this keeps a client from joining thousands of groups.
MAX_SUBSCRIPTIONS = 100


@database_sync_to_async
def _visible(user, operation_id: str) -> bool:
    try:
        selectors.operation_get(actor=user, operation_id=operation_id)
    except Http404:
        return False
    return True


@database_sync_to_async
def _current(user, operation_id: str) -> dict[str, object] | None:
    """The operation's event as of now, or None when the user may not see it."""
    try:
        return progress.progress_event(
            selectors.operation_get(actor=user, operation_id=operation_id)
        )
    except Http404:
        return None


class OperationProgressConsumer(EndsWhenTheChannelLayerFails, AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated:
            await self.close()
            return
        self.subscriptions: dict[str, str] = {}  # what the client asked for -> group
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "subscriptions", {}).values():
            await self.channel_layer.group_discard(group, self.channel_name)

    @classmethod
    async def decode_json(cls, text_data: str) -> object:
        try:
            return json.loads(text_data)
        except ValueError:
            return None  # answered below, instead of ending the connection with an error

    async def receive_json(self, content: object, **kwargs) -> None:
        if not isinstance(content, dict):
            await self.send_json({"error": "expected a JSON object"})
            return
        if "subscribe" in content:
            await self._subscribe(content["subscribe"])
        elif "unsubscribe" in content:
            await self._unsubscribe(content["unsubscribe"])
        else:
            await self.send_json({"error": "expected 'subscribe' or 'unsubscribe'"})

    async def _subscribe(self, wanted: object) -> None:
        key = self._key(wanted)
        if key is None:
            group = None
        elif key == ALL:
            group = self._broad_group()
        else:
            group = progress.operation_group(key)
        if group is None:
            await self.send_json({"subscribe": wanted, "error": "not found"})
            return
        joined = key not in self.subscriptions
        if joined:
            if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
                await self.send_json({"subscribe": wanted, "error": "too many subscriptions"})
                return
            # Joined before the state is read, so no change falls between the two; nothing
            # reaches the page before the check below (every event is checked on its way).
            await self.channel_layer.group_add(group, self.channel_name)
            self.subscriptions[key] = group
        current = None if key == ALL else await _current(self.user, key)
        if key != ALL and current is None:
            if joined:
                del self.subscriptions[key]
                await self.channel_layer.group_discard(group, self.channel_name)
            await self.send_json({"subscribe": wanted, "error": "not found"})
            return
        await self.send_json({"subscribed": key})
        if current is not None:
            await self.send_json({"type": progress.MESSAGE_TYPE, "operation": current})

    async def _unsubscribe(self, wanted: object) -> None:
        group = self.subscriptions.pop(self._key(wanted) or "", None)
        if group is not None:
            await self.channel_layer.group_discard(group, self.channel_name)
        await self.send_json({"unsubscribed": wanted})

    @staticmethod
    def _key(wanted: object) -> str | None:
        """'all', or an operation id in its canonical form; None for anything else."""
        if wanted == ALL:
            return ALL
        try:
            return str(uuid.UUID(str(wanted)))
        except ValueError:
            return None

    def _broad_group(self) -> str | None:
        """Where every operation the user may see is published: the operators' group for staff
        (what each may see is still checked per event), the tenant's for its users."""
        if self.user.is_superuser or self.user.is_staff:
            return progress.OPERATORS_GROUP
        if self.user.tenant_id is not None:
            return progress.tenant_group(self.user.tenant_id)
        return None

    async def operation_progress(self, message: dict) -> None:
        event = message["event"]
        operation_id = event["id"]
        via_broad_group = message.get("group") != progress.operation_group(operation_id)
        if via_broad_group and operation_id in self.subscriptions:
            return  # the operation's own group brings this one too
        # Visibility can change while the page is open (an ACL removed): checked every time.
        if not await _visible(self.user, operation_id):
            return
        await self.send_json({"type": progress.MESSAGE_TYPE, "operation": event})
