"""What the bench scripts share: a database of their own on the server of
DATABASE_URL, the processes a run starts, and latency percentiles.

The scripts put the project root on `sys.path` before importing this."""

import os
import signal
import statistics
import subprocess
from pathlib import Path

from config.env import with_database

ROOT = Path(__file__).resolve().parent.parent


def admin_exec(url: str, sql: str) -> None:
    """Run `sql` on the server's `postgres` database (CREATE/DROP DATABASE)."""
    import psycopg

    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    """Until something accepts TCP connections on 127.0.0.1:`port`."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live children (a
    launcher of several web processes, a Celery worker's pool)."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for process in [root, *root.children(recursive=True)]:
            times = process.cpu_times()
            total += times.user + times.system
    except psutil.NoSuchProcess:
        pass
    return total


def percentiles(samples_ms: list[float], *, places: int = 2) -> dict[str, float]:
    if not samples_ms:
        return {"n": 0}
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "min_ms": round(ordered[0], places),
        "p50_ms": round(q[49], places),
        "p99_ms": round(q[98], places),
        "max_ms": round(ordered[-1], places),
    }


class Processes:
    """Servers and workers a run starts; all stopped at the end, whatever happens."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.running: list[subprocess.Popen] = []

    def start(self, *command: str) -> subprocess.Popen:
        process = subprocess.Popen(
            command, cwd=ROOT, env=self.env, start_new_session=True, stdout=subprocess.DEVNULL
        )
        self.running.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.running:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
