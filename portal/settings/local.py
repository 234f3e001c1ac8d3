"""The embedded default: one machine, no servers to install (make run)."""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import SECRET_KEY, env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A fixed development key keeps sessions valid across restarts; production refuses it.
SECRET_KEY = SECRET_KEY or "insecure-development-key-do-not-use-in-production"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
