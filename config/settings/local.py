"""Settings for `make run` on a developer's machine."""

from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, env_bool

DEBUG = env_bool("DEBUG", True)
PUSH_ALLOW_HTTP_LOOPBACK = DEBUG
# A pool per process: daphne's thread pool with persistent connections
# otherwise exhausts PostgreSQL's connection limit (shared/NOTES.md).
DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 1, "max_size": 10}}
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
