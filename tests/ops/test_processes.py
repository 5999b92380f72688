"""The process registry (ops/processes.py): each web and worker process's
hash in Redis with its heartbeat, what counts as live, and the hooks that
write it (Celery's worker signals, the web server's life)."""

import asyncio
import time
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async

from ops import processes, wsmetrics
from ops.selectors import health_report, processes_check
from realtime import lifecycle

pytestmark = pytest.mark.django_db


def test_live_and_lost_processes_and_only_live_sockets_count(settings):
    settings.OPS_HEARTBEAT_SECONDS = 10
    now = time.time()
    processes.process_write("web", "h1:101", connections=3, started_at=now - 60)
    processes.process_write("web", "h2:202", connections=5, heartbeat_at=now - 31)  # silent > 3 beats
    processes.process_write("worker", "w1@h1", concurrency=2)

    rows = processes.processes_list(now=now)
    assert [(r["kind"], r["name"], r["live"]) for r in rows] == [
        ("web", "h1:101", True),
        ("web", "h2:202", False),
        ("worker", "w1@h1", True),
    ]
    assert rows[0]["connections"] == 3
    assert rows[0]["heartbeat_age_seconds"] == 0
    assert rows[0]["started_at"] is not None
    assert rows[1]["heartbeat_age_seconds"] == 31
    assert rows[2]["concurrency"] == 2
    assert processes.web_connections_open() == 3
    assert wsmetrics.ws_connections_open() == 3

    found = processes_check()
    assert (found["status"], found["web"], found["workers"], found["lost"]) == ("amber", 1, 1, 1)
    assert [row["status"] for row in found["processes"]] == ["green", "amber", "green"]
    assert health_report()["components"]["processes"]["status"] == "amber"

    processes.process_forget("web", "h2:202")
    assert processes_check()["status"] == "green"


def test_no_process_recorded_is_green_and_empty():
    assert processes_check() == {
        "status": "green",
        "web": 0,
        "workers": 0,
        "lost": 0,
        "heartbeat_seconds": 10.0,
        "processes": [],
    }


def test_a_worker_records_itself_when_ready_and_leaves_on_shutdown():
    consumer = SimpleNamespace(hostname="w9@host", controller=SimpleNamespace(concurrency=4))
    processes._worker_ready(sender=consumer)
    try:
        deadline = time.monotonic() + 10
        while not (rows := processes.processes_list()) and time.monotonic() < deadline:
            time.sleep(0.05)
        ((row),) = rows
        assert (row["kind"], row["name"], row["concurrency"], row["state"], row["live"]) == (
            "worker",
            "w9@host",
            4,
            "serving",
            True,
        )
    finally:
        processes._worker_shutdown()
    assert processes.processes_list() == []


@pytest.mark.django_db(transaction=True)
async def test_a_web_process_beats_from_start_drains_and_leaves_on_stop(monkeypatch, settings):
    """The server's hooks (realtime.lifecycle, connected by ops' AppConfig):
    a record from the start with 0 sockets, `draining` on SIGTERM, gone on exit."""
    settings.OPS_HEARTBEAT_SECONDS = 1
    counters = wsmetrics._ProcessCounters()
    monkeypatch.setattr(wsmetrics, "_counters", counters)

    async def record() -> dict | None:
        for _ in range(100):
            rows = await sync_to_async(processes.processes_list)()
            mine = [row for row in rows if row["name"] == counters.name]
            if mine and (mine[0]["state"] == counters.state):
                return mine[0]
            await asyncio.sleep(0.05)
        return None

    lifecycle.web_started()
    try:
        row = await record()
        assert row is not None
        assert (row["kind"], row["state"], row["connections"], row["live"]) == ("web", "serving", 0, True)
        first = row["last_heartbeat_at"]
        await asyncio.sleep(1.2)  # the next heartbeat, with no traffic at all
        row = await record()
        assert row is not None and row["last_heartbeat_at"] > first

        lifecycle.web_draining()
        row = await record()
        assert row is not None and row["state"] == "draining"
    finally:
        await sync_to_async(lifecycle.web_stopped)()
    assert counters.name not in {row["name"] for row in await sync_to_async(processes.processes_list)()}
    counters.maybe_flush(force=True)  # nothing may write it again after the stop
    await asyncio.sleep(0.2)
    assert await sync_to_async(processes.processes_list)() == []


def test_a_heartbeat_late_for_the_goodbye_does_not_bring_the_record_back():
    processes.process_write("worker", "w1@h1", instance="life-1", concurrency=2)
    processes.process_forget("worker", "w1@h1", instance="life-1")
    processes.process_write("worker", "w1@h1", instance="life-1", concurrency=2)  # the thread's last beat
    assert processes.processes_list() == []
    # The same name in a new life (a restarted container: same host, same pid) is written.
    processes.process_write("worker", "w1@h1", instance="life-2", concurrency=2)
    assert [row["name"] for row in processes.processes_list()] == ["w1@h1"]


@pytest.mark.django_db(transaction=True)
async def test_a_flush_in_flight_as_the_web_process_stops_writes_no_record(monkeypatch):
    counters = wsmetrics._ProcessCounters()
    monkeypatch.setattr(wsmetrics, "_counters", counters)
    await counters._write(0, None)
    assert [row["name"] for row in await sync_to_async(processes.processes_list)()] == [counters.name]
    # The goodbye reaches Redis while a write that began before it is on its
    # way (the flag `stopped` was still false when it began).
    await sync_to_async(processes.process_forget)(processes.WEB, counters.name, instance=counters.instance)
    await counters._write(3, None)
    assert await sync_to_async(processes.processes_list)() == []
