"""Fixtures of the fault suite: a Celery queue of the test's own (so no other
run's worker takes its tasks), a process pool that always cleans up, and
reference WebSocket clients held open through a test."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest
from rest_framework.authtoken.models import Token

from config.celery_app import app
from tests.faults.processes import free_port, group_kill, group_stop, web_start, worker_start
from tests.faults.stream_clients import StreamClients
from trading.faults import fault_disarm

FAULT_POINTS = ("trade_open", "trade_open.reserved")


@pytest.fixture
def fault_queue():
    """A queue of our own, made the default for this process's sends."""
    name = f"faults-{os.environ['CHANNEL_PREFIX']}-{uuid.uuid4().hex[:6]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    yield name
    app.conf.task_default_queue = previous


class Processes:
    def __init__(self, queue: str, logs: Path) -> None:
        self.queue = queue
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def worker(
        self, *, concurrency: int = 1, queue: str | None = None, **env: str
    ) -> subprocess.Popen[bytes]:
        defaults = {"TRADING_FAULT_INJECTION": "1", "TRADE_RETRY_BASE_SECONDS": "0.2"}
        process = worker_start(
            queue=queue or self.queue,
            name=f"w{len(self.started)}-{uuid.uuid4().hex[:4]}",
            log=self.logs / "workers.log",
            concurrency=concurrency,
            **{**defaults, **env},
        )
        self.started.append(process)
        return process

    def add(self, process: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.started.append(process)
        return process

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        group_kill(process)

    def stop_all(self) -> None:
        for process in self.started:
            group_stop(process)

    def log_tail(self, lines: int = 40) -> str:
        path = self.logs / "workers.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@pytest.fixture
def processes(fault_queue, tmp_path):
    pool = Processes(fault_queue, tmp_path)
    yield pool
    pool.stop_all()
    for point in FAULT_POINTS:
        fault_disarm(point)


@pytest.fixture
def stream_clients(processes, tmp_path):
    """`connect(users)`: a daphne web process (on this run's Redis) and one
    reference WebSocket client per user, connected until the test ends."""
    started: list[StreamClients] = []

    def connect(users) -> StreamClients:
        port = free_port()
        processes.add(web_start(port=port, log=tmp_path / "web.log"))
        clients = StreamClients(
            base_url=f"http://127.0.0.1:{port}",
            tokens={u.pk: Token.objects.create(user=u).key for u in users},
        )
        started.append(clients)
        clients.start()
        return clients

    yield connect
    for clients in started:
        clients.stop()
