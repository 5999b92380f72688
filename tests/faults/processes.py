"""Child processes for the fault and integration suites: Celery workers and
beat schedulers pointed at this run's test database, a Redis of the test's
choosing and this run's channel/cache prefix. Each is started in its own
process group so a test can SIGKILL the whole worker (parent and pool
children) and so nothing outlives the test."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from tests.trading.feed_process import free_port, redis_start, stop, wait_for
from tests.trading.feed_process import test_database_url as database_url

ROOT = Path(__file__).resolve().parents[2]

__all__ = [
    "beat_start",
    "child_env",
    "database_url",
    "free_port",
    "group_kill",
    "group_stop",
    "redis_start",
    "stop",
    "wait_for",
    "web_start",
    "worker_start",
]


def child_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(overrides)
    return env


def worker_start(
    *, queue: str, name: str, log: Path, concurrency: int = 1, pool: str = "prefork", **env: str
) -> subprocess.Popen[bytes]:
    """A `celery -A config worker` consuming only `queue` (no other run's tasks)."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool",
                pool,
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-n",
                f"{name}@%h",
                "-Q",
                queue,
            ],
            cwd=ROOT,
            env=child_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def beat_start(*, log: Path, schedule_file: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel",
                "INFO",
                "--schedule",
                str(schedule_file),
                "--max-interval",
                "1",
            ],
            cwd=ROOT,
            env=child_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def web_start(*, port: int, log: Path, **env: str) -> subprocess.Popen[bytes]:
    """daphne serving `config.asgi:application`, as the Procfile runs it."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=ROOT,
            env=child_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(lambda: _listening(port), timeout=60, what=f"daphne on port {port}")
    return process


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def group_kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and every child of its group (no cleanup runs)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def group_stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM the group (Celery's warm shutdown), SIGKILL if it lingers."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        group_kill(proc)
    # Pool children may outlive a parent that exited first.
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
