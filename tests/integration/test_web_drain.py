"""A web process that receives SIGTERM drains (realtime/daphne_server.py):
it stops accepting, closes every WebSocket with 1012 "server restarting,
reconnect", finishes what is in flight and exits 0, before its drain time.
Seen from raw `websockets` clients against the real process."""

import asyncio
import signal
import time

import pytest
from asgiref.sync import sync_to_async
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from realtime import services
from realtime.close_codes import CLOSE_SERVICE_RESTART, SERVICE_RESTART_REASON
from tests.children import child_env, free_port, listening, python, spawn, stopping, wait_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DRAIN_SECONDS = 20


@pytest.fixture
def web(tmp_path):
    port = free_port()
    log = tmp_path / "web.log"
    process = spawn(
        python(
            *("-m", "realtime.server", "--drain-seconds", str(DRAIN_SECONDS)),
            *("-b", "127.0.0.1", "-p", str(port), "config.asgi:application"),
        ),
        name=f"web:{port}",
        log=log,
        env=child_env(),
    )
    wait_for(lambda: listening(port), timeout=60, what=f"realtime.server on port {port}")
    return process, port, log


async def _close_of(ws) -> tuple[int | None, str | None]:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 15)
    except ConnectionClosed as closed:
        frame = closed.rcvd
        return (frame.code, frame.reason) if frame is not None else (None, None)


@pytest.fixture
def users():
    return [UserFactory() for _ in range(5)]


async def test_sigterm_closes_every_socket_with_1012_then_the_process_exits(web, users):
    process, port, log = web
    tickets = [await sync_to_async(services.ticket_create)(user_id=user.pk) for user in users]
    sockets = []
    for ticket in tickets:
        ws = await connect(f"ws://127.0.0.1:{port}/ws/stream/?ticket={ticket}", open_timeout=20)
        assert '"type":"hello"' in await asyncio.wait_for(ws.recv(), 10)
        sockets.append(ws)

    stopping(process)
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    closes = await asyncio.gather(*(_close_of(ws) for ws in sockets))
    assert closes == [(CLOSE_SERVICE_RESTART, SERVICE_RESTART_REASON)] * len(sockets)
    # It stopped accepting at once: nothing else listens on this port.
    assert not listening(port)
    code = await asyncio.to_thread(process.wait, DRAIN_SECONDS)
    took = time.monotonic() - started
    assert code == 0
    assert took < DRAIN_SECONDS / 2  # it left as soon as its clients had gone, not at the deadline
    text = log.read_text()
    assert "draining (SIGTERM): stopped accepting, closed 5 WebSockets with 1012" in text
    assert "drained: every connection is closed" in text
    assert "Traceback" not in text


def _children_of(pid: int) -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process(pid).children() if child.status() != psutil.STATUS_ZOMBIE}


def _healthy(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def test_supervisor_replaces_a_killed_process_restarts_on_sighup_and_stops_on_sigterm(tmp_path):
    """`--processes 2`: a SIGKILLed child is replaced, SIGHUP replaces both
    one at a time while the port keeps answering, SIGTERM drains and stops
    every child and the launcher exits 0."""
    import os
    import re

    port = free_port()
    log = tmp_path / "web.log"
    launcher = spawn(
        python(
            *("-m", "realtime.server", "--processes", "2", "--drain-seconds", "5"),
            *("-b", "127.0.0.1", "-p", str(port), "config.asgi:application"),
        ),
        name="web launcher",
        log=log,
        env=child_env(),
    )
    wait_for(lambda: "2 web processes" in log.read_text(), timeout=90, what="two web processes")
    first = _children_of(launcher.pid)
    assert len(first) == 2

    victim = min(first)
    os.kill(victim, signal.SIGKILL)

    def replaced() -> set[int] | None:
        pids = _children_of(launcher.pid)
        return pids if len(pids) == 2 and victim not in pids else None

    after_kill = wait_for(
        replaced,
        timeout=60,
        what="a replacement for the killed process",
    )
    assert re.search(rf"web process {victim} exited \(signal 9\) after \d+ s; started \d+", log.read_text())
    wait_for(lambda: _healthy(port), timeout=60, what="the port to answer")

    launcher.send_signal(signal.SIGHUP)

    def restarted() -> bool:
        pids = _children_of(launcher.pid)
        return len(pids) == 2 and not pids & after_kill

    wait_for(
        restarted,
        timeout=120,
        what="both processes replaced by the rolling restart",
    )
    assert _healthy(port)
    assert log.read_text().count("replaced by") == 2

    stopping(launcher)
    launcher.send_signal(signal.SIGTERM)
    assert launcher.wait(timeout=30) == 0
    assert not listening(port)
    text = log.read_text()
    assert "SIGTERM: draining 2 web processes" in text
    assert "Traceback" not in text
