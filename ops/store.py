"""Where ops keeps its counters: Redis, under the cache's key prefix.

Task-run records, WebSocket connection counts and delivered-event counts are
written by other processes (Celery workers, daphne) and read by whichever
web process serves the health endpoint or `/metrics`, so they live in Redis,
not in process memory. The cache's `KEY_PREFIX` is used so parallel test runs
on one Redis never see each other's numbers.

Every client has short socket timeouts: monitoring must answer "Redis is
down" quickly, and a signal handler in a worker must never stall a task.
"""

import asyncio
import weakref

import redis.asyncio as aredis
from django.conf import settings

from core.redis import SOCKET_TIMEOUT_SECONDS, redis_client

__all__ = ["ops_key", "redis_client", "redis_client_async"]

_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def ops_key(*parts: str) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return ":".join([prefix, "ops", *parts]) if prefix else ":".join(["ops", *parts])


def redis_client_async() -> aredis.Redis:
    """A client bound to the running event loop (an asyncio client cannot be
    shared across loops; tests start a loop per test)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aredis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            decode_responses=True,
        )
        _async_clients[loop] = client
    return client
