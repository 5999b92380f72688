"""Running the real feed (`manage.py run_market_feed`) as a child process
against this test run's database, Redis and channel prefix (tests/children.py
starts it, watches it and makes sure it does not outlive the run)."""

import subprocess
from pathlib import Path

from django.conf import settings
from django.core.cache.backends.redis import RedisCache

from tests.children import (
    ROOT,
    child_env,
    free_port,
    listening,
    python,
    redis_server_binary,
    spawn,
    stop,
    wait_for,
)

__all__ = [
    "ROOT",
    "cache_at",
    "feed_env",
    "feed_start",
    "free_port",
    "redis_start",
    "stop",
    "wait_for",
]


def feed_env(**overrides: str) -> dict[str, str]:
    # Same CHANNEL_PREFIX (set by config.settings.test in os.environ): the
    # child writes under the cache prefix and channel names this run reads.
    return child_env(FEED_FLUSH_INTERVAL="0.5", **overrides)


def feed_start(*args: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    return spawn(
        python("manage.py", "run_market_feed", *args),
        name="feed",
        log=log,
        env=feed_env(**env),
        new_session=False,
    )


def redis_start(port: int, log: Path | None = None) -> subprocess.Popen[bytes]:
    """A Redis of the test's own on `port` (nothing kept on disk)."""
    proc = spawn(
        [
            redis_server_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        name=f"redis:{port}",
        log=log,
    )
    wait_for(lambda: listening(port), timeout=10, what=f"redis on port {port}")
    return proc


def cache_at(url: str) -> RedisCache:
    """A cache client like the feed's, for a Redis of the test's own."""
    return RedisCache(url, {"KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]})
