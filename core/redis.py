"""One short-timeout Redis client per process and URL, for the counters that
workers write and web processes read (ops' health numbers, push outcomes).

A new client after fork (Celery prefork children must not share their
parent's sockets) and for a new URL (tests point REDIS_URL at a dead port to
see monitoring report Redis down). Short socket timeouts: monitoring must
answer "Redis is down" quickly, and a worker's signal handler must never
stall a task."""

import asyncio
import os
import threading
import weakref

import redis
import redis.asyncio as aredis
from django.conf import settings

SOCKET_TIMEOUT_SECONDS = 0.5

_lock = threading.Lock()
_clients: dict[tuple[int, str], redis.Redis] = {}
_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aredis.Redis]" = (
    weakref.WeakKeyDictionary()
)


def redis_client() -> redis.Redis:
    """This process's client for settings.REDIS_URL (strings, not bytes)."""
    key = (os.getpid(), settings.REDIS_URL)
    with _lock:
        client = _clients.get(key)
        if client is None:
            if any(pid != key[0] for pid, _ in _clients):
                _clients.clear()  # a parent's clients: never used here, never closed here
            client = redis.Redis.from_url(
                settings.REDIS_URL,
                socket_timeout=SOCKET_TIMEOUT_SECONDS,
                socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
                decode_responses=True,
            )
            _clients[key] = client
        return client


def redis_client_async() -> aredis.Redis:
    """A client bound to the running event loop (an asyncio client cannot be
    shared across loops; tests start a loop per test), strings not bytes."""
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
