"""Where ops keeps its counters: Redis, under the cache's key prefix.

Task-run records, WebSocket connection counts and delivered-event counts are
written by other processes (Celery workers, daphne) and read by whichever
web process serves the health endpoint or `/metrics`, so they live in Redis,
not in process memory. The cache's `KEY_PREFIX` is used so parallel test runs
on one Redis never see each other's numbers.

Every client has short socket timeouts: monitoring must answer "Redis is
down" quickly, and a signal handler in a worker must never stall a task.
"""

from django.conf import settings

from core.redis import redis_client, redis_client_async

__all__ = ["ops_key", "redis_client", "redis_client_async"]


def ops_key(*parts: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return ":".join([prefix, "ops", *parts]) if prefix else ":".join(["ops", *parts])
