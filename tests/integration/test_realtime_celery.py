"""Events published by a real Celery worker arrive on the WebSocket.

The worker is a separate `celery -A config worker` process (prefork pool, so
the task runs in a forked child) sharing this run's database, Redis and
channel prefix. Several tasks run in the same child: the second and later
sends are the ones that fail with "Event loop is closed" when a sender
depends on a per-call event loop (channels_redis#332)."""

import os
from pathlib import Path

import pytest

from config.celery_app import app
from tests.children import python, spawn, stop
from tests.realtime.conftest import open_with_ticket

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def celery_worker(tmp_path):
    process = spawn(
        python(
            *("-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1"),
            *("--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
            *("-Q", _queue()),
        ),
        name="worker",
        log=tmp_path / "worker.log",
    )
    try:
        yield _queue()
    finally:
        stop(process)


def _queue() -> str:
    # Our own queue name: other runs on the same broker never take our tasks.
    return f"rt-{os.environ['CHANNEL_PREFIX']}"


async def test_events_from_a_celery_task_arrive_in_order(user, celery_worker):
    comm, hello = await open_with_ticket(user)
    assert hello["last_seq"] == 0
    for n in range(1, 4):
        app.send_task(
            "realtime.tasks.notify_user", args=[user.pk, f"task {n}", "from a worker"], queue=celery_worker
        )
    frames = [await comm.receive_json_from(timeout=90) for _ in range(3)]
    assert [(f["seq"], f["event"], f["data"]["title"]) for f in frames] == [
        (1, "notification", "task 1"),
        (2, "notification", "task 2"),
        (3, "notification", "task 3"),
    ]
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()
