"""Child processes for the fault and integration suites: Celery workers and
beat schedulers pointed at this run's test database, a Redis of the test's
choosing and this run's channel/cache prefix. Each is started in its own
process group so a test can SIGKILL the whole worker (parent and pool
children) and so nothing outlives the test."""

import json
import os
import select
import socket
import subprocess
import time
from pathlib import Path

import redis
from django.conf import settings

from realtime.supervisor import child_argv, listen_socket
from tests.children import (
    ROOT,
    child_env,
    database_url,
    free_port,
    kill,
    listening,
    python,
    spawn,
    stop,
    wait_for,
)
from tests.trading.feed_process import redis_start

__all__ = [
    "ROOT",
    "beat_start",
    "broker_unacked_ages",
    "child_env",
    "database_url",
    "free_port",
    "group_kill",
    "group_stop",
    "redis_start",
    "stop",
    "wait_for",
    "wait_redelivery_due",
    "web_child_start",
    "web_socket",
    "web_start",
    "worker_start",
]


def worker_start(
    *, queue: str, name: str, log: Path, concurrency: int = 1, pool: str = "prefork", **env: str
) -> subprocess.Popen[bytes]:
    """A `celery -A config worker` consuming only `queue` (no other run's tasks)."""
    return spawn(
        python(
            *("-m", "celery", "-A", "config", "worker", "--pool", pool, "--concurrency", str(concurrency)),
            *("--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
            *("-n", f"{name}@%h", "-Q", queue),
        ),
        name=f"worker {name}",
        log=log,
        env=child_env(**env),
    )


def beat_start(*, log: Path, schedule_file: Path, **env: str) -> subprocess.Popen[bytes]:
    return spawn(
        python(
            *("-m", "celery", "-A", "config", "beat", "--loglevel", "INFO"),
            *("--schedule", str(schedule_file), "--max-interval", "1"),
        ),
        name="beat",
        log=log,
        env=child_env(**env),
    )


def web_start(*, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """daphne serving `config.asgi:application`, as the Procfile runs it."""
    process = spawn(
        python("-m", "realtime.server", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"),
        name=f"web:{port}",
        log=log,
        env=child_env(**env),
    )
    wait_for(lambda: listening(port), timeout=60, what=f"daphne on port {port}")
    return process


def web_socket(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1:`port` for web processes to share, as
    `python -m realtime.server --processes N` makes one (the test holds it,
    as the launcher does, so the port queues connections while every
    process restarts)."""
    return listen_socket("127.0.0.1", port)


def web_child_start(
    sock: socket.socket, *, log: Path, name: str, drain_seconds: float = 10, **env: str
) -> subprocess.Popen[bytes]:
    """One daphne web process serving the inherited `sock`, exactly as the
    launcher starts each of its children; returns once it serves."""
    ready_read, ready_write = os.pipe()
    try:
        process = spawn(
            child_argv(
                fd=sock.fileno(),
                ready_fd=ready_write,
                parent_pid=os.getpid(),
                drain_seconds=drain_seconds,
                daphne_argv=["config.asgi:application"],
            ),
            name=name,
            log=log,
            env=child_env(**env),
            pass_fds=(sock.fileno(), ready_write),
        )
    finally:
        os.close(ready_write)
    try:

        def ready() -> bytes | None:
            readable, _, _ = select.select([ready_read], [], [], 0)
            if not readable:
                return None
            said = os.read(ready_read, 64)
            assert said, f"{name} exited before it served"
            return said

        wait_for(ready, timeout=90, what=f"{name} to serve")
    finally:
        os.close(ready_read)
    return process


def group_kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and every child of its group (no cleanup runs)."""
    kill(proc)


def group_stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM the group (Celery's warm shutdown), SIGKILL if it lingers."""
    stop(proc, timeout=timeout)


def broker_unacked_ages(queue: str, broker_url: str | None = None) -> list[float]:
    """Seconds since each message of `queue` was delivered and not acknowledged
    (kombu's Redis transport keeps them in the `unacked` hash, delivery time in
    `unacked_index`, until the worker acks or the message is restored)."""
    client = redis.Redis.from_url(broker_url or settings.CELERY_BROKER_URL)
    try:
        ages = []
        now = time.time()
        for tag, payload in client.hgetall("unacked").items():
            _message, exchange, routing_key = json.loads(payload)
            if queue in (exchange, routing_key):
                score = client.zscore("unacked_index", tag)
                if score is not None:
                    ages.append(now - score)
        return ages
    finally:
        client.close()


def wait_redelivery_due(queue: str, *, visibility_timeout: float, timeout: float = 60) -> int:
    """Wait until every unacknowledged message of `queue` (a killed worker's)
    is older than the visibility timeout, so the next worker's start-up
    restore gives it back at once; returns how many there are (at least one:
    the kill left its message unacknowledged)."""

    def due() -> int | None:
        ages = broker_unacked_ages(queue)
        return len(ages) if ages and min(ages) > visibility_timeout else None

    return int(wait_for(due, timeout=timeout, what=f"the unacknowledged messages of {queue} to be due"))
