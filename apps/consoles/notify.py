"""Telling open consoles to re-check or to end, over the channel layer.

Every console joins three groups: all consoles (access changed: re-check the privilege), its
session's (logout) and its guest's (deleted). Publishing is best effort, like operations'
progress: each console also re-checks on its own every CONSOLE_RECHECK_SECONDS.
"""

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.consoles.services import hash_secret

ACCESS_GROUP = "consoles.access"
# Handlers on the consumer: `console_recheck` and `console_end`.
RECHECK = "console.recheck"
END = "console.end"
PUBLISH_TIMEOUT_SECONDS = 2.0

logger = logging.getLogger(__name__)


def session_group(session_key: str) -> str:
    return f"consoles.session.{hash_secret(session_key)[:40]}"


def guest_group(vmid: int) -> str:
    return f"consoles.guest.{vmid}"


async def _send(group: str, message: dict[str, str]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async with asyncio.timeout(PUBLISH_TIMEOUT_SECONDS):
            await layer.group_send(group, message)
    except Exception as error:  # the channel layer down (Redis restarting): consoles re-check
        logger.warning("could not tell consoles in %s to %s: %r", group, message["type"], error)


def publish(group: str, message: dict[str, str]) -> None:
    """Send from sync code (signal receivers, on-commit hooks), also from a thread that
    sync_to_async started; from inside an event loop's own thread, schedule it there."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(_send)(group, message)
        return
    loop.create_task(_send(group, message))  # noqa: RUF006 - best effort, logged on failure
