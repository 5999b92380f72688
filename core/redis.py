"""One short-timeout Redis client per process and URL, for the counters that
workers write and web processes read (ops' health numbers, push outcomes).

A new client after fork (Celery prefork children must not share their
parent's sockets) and for a new URL (tests point REDIS_URL at a dead port to
see monitoring report Redis down). Short socket timeouts: monitoring must
answer "Redis is down" quickly, and a worker's signal handler must never
stall a task."""

import os
import threading

import redis
from django.conf import settings

SOCKET_TIMEOUT_SECONDS = 0.5

_lock = threading.Lock()
_clients: dict[tuple[int, str], redis.Redis] = {}


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
