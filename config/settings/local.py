"""Settings for `make run` on a developer's machine."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, env_bool, env_int

# Off unless asked for (`DEBUG=1 ./dev.py run`): a debug page shows any
# visitor the traceback and the settings. Static files are served by
# WhiteNoise from collectstatic's output either way.
DEBUG = env_bool("DEBUG", False)
PUSH_ALLOW_HTTP_LOOPBACK = DEBUG
# A pool per process: daphne's thread pool with persistent connections
# otherwise exhausts PostgreSQL's connection limit (docs/decisions.md).
# dev.py sizes it by the number of web processes (docs/scaling.md).
DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 1, "max_size": env_int("DATABASE_POOL_MAX", 10)}}
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
