"""Settings for the test suite: the same PostgreSQL and Redis as production,
never SQLite or a fake Redis (docs/architecture.md, "Tests")."""

import os
import uuid

from config.settings.base import *  # noqa: F403
from config.settings.base import CACHES, CHANNEL_LAYERS, DATABASES, REST_FRAMEWORK, STATIC_ROOT

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Throttles are tested on purpose in their own tests, with rates they set.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "100000/min",
        "user": "100000/min",
        "token_obtain": "100000/min",
        "money": "100000/min",
        "trades": "100000/min",
        "quotes": "100000/min",
    },
}
LOGIN_FAILURE_LIMIT = 5

# WhiteNoise warns on every request while STATIC_ROOT is missing; the e2e suite
# fills it with collectstatic, the rest of the suite only needs it to exist.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# Pub/sub channels ignore the Redis database number, so each test run (and the
# worker processes it starts, which inherit the environment) gets its own
# channel prefix: parallel runs on one Redis never hear each other.
if "CHANNEL_PREFIX" not in os.environ:
    os.environ["CHANNEL_PREFIX"] = f"tvtest{uuid.uuid4().hex[:8]}"
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = os.environ["CHANNEL_PREFIX"]
CACHES["default"]["KEY_PREFIX"] = os.environ["CHANNEL_PREFIX"]

# The suite's local push service listens on http://127.0.0.1:<port>.
PUSH_ALLOW_HTTP_LOOPBACK = True

# An integration test's children (a worker, the feed) send the tasks they
# start to that test's own queue, which only its own workers consume.
if os.environ.get("TEST_TASK_QUEUE"):
    CELERY_TASK_DEFAULT_QUEUE = os.environ["TEST_TASK_QUEUE"]

# A child process (a worker) may take the connection pool that local and
# production settings use, for the tests of what the pool changes: one
# connection (a pool may otherwise open a second while its first connects),
# named so the test can tell its sessions from any other.
if os.environ.get("TEST_DATABASE_POOL"):
    DATABASES["default"]["OPTIONS"] = {
        "pool": {"min_size": 1, "max_size": 1},
        "application_name": os.environ["TEST_DATABASE_POOL"],
    }
