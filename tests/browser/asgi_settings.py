"""Settings of the uvicorn process tests/browser/test_portal_live.py starts: the test settings
(the database pytest-django made, given by DATABASE_URL), with the channel layer on the Redis
and under the key prefix the test itself publishes to."""

import os

from portal.settings.test import *  # noqa: F403

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [os.environ["PORTAL_TEST_CHANNEL_REDIS"]],
            "prefix": os.environ["PORTAL_TEST_CHANNEL_PREFIX"],
        },
    }
}
