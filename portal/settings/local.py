"""The embedded default: one machine, no servers to install (make run)."""

from portal.settings.base import *  # noqa: F403
from portal.settings.base import PORTAL_SECRETS_KEYS, SECRET_KEY, env
from portal.settings.components.secrets import development_fernet_key

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# A fixed development key keeps sessions valid across restarts; production refuses it.
SECRET_KEY = SECRET_KEY or "insecure-development-key-do-not-use-in-production"
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PORTAL_SECRETS_KEYS = PORTAL_SECRETS_KEYS or [development_fernet_key(SECRET_KEY)]
