"""What the portal's websocket consumers share: losing the channel layer (Redis restarting)
ends the consumer quietly, with a reason, instead of crashing the ASGI application."""

import logging

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class EndsWhenTheChannelLayerFails:
    """Mix in before the Channels consumer class. Channels listens on the channel layer for
    the consumer's whole life; when that listening fails, `channel_layer_lost` runs and the
    connection ends (the browser reconnects once Redis is back)."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except (RedisError, OSError) as error:
            logger.warning("%s ended: the channel layer failed: %r", type(self).__name__, error)
            await self.channel_layer_lost()

    async def channel_layer_lost(self) -> None:
        """What the consumer must still do when it ends this way."""
