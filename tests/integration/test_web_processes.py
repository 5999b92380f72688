"""Two web processes on one port (`python -m realtime.server --processes 2`)
seen as one service: /metrics on either merges both processes' request
latencies (prometheus_client's multiprocess mode, set up by the launcher),
and the health report counts the sockets of both and lists each process
with its heartbeat. Each runs its garbage collector under the web
process's policy (realtime/collector.py)."""

import asyncio
import re
import urllib.request

import psutil
import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from websockets.asyncio.client import connect

from ops.selectors import health_report
from realtime import services
from tests.children import child_env, free_port, python, spawn, stop, wait_for
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TOKEN = "scrape-both"


@pytest.fixture
def two_web(tmp_path):
    port = free_port()
    log = tmp_path / "web.log"
    launcher = spawn(
        python(
            *("-m", "realtime.server", "--processes", "2"),
            *("-b", "127.0.0.1", "-p", str(port), "config.asgi:application"),
        ),
        name="web launcher",
        log=log,
        env=child_env(METRICS_TOKEN=TOKEN, OPS_HEARTBEAT_SECONDS="1"),
    )
    found = wait_for(
        lambda: re.search(r"2 web processes \(pids (\d+), (\d+)\)", log.read_text()),
        timeout=90,
        what="two web processes",
    )
    yield port, {int(found.group(1)), int(found.group(2))}
    stop(launcher, timeout=30)


SERVING = re.compile(
    r"web process (\d+) serving \(garbage collector: (\d+) objects frozen, thresholds (\d+)/(\d+)/(\d+)\)"
)


def test_each_web_process_freezes_its_start_up_and_sets_the_collectors_thresholds(two_web, tmp_path):
    _, pids = two_web
    log = tmp_path / "web.log"
    serving = wait_for(
        lambda: found if len(found := SERVING.findall(log.read_text())) == 2 else None,
        timeout=30,
        what="both web processes serving",
    )
    assert {int(pid) for pid, *_ in serving} == pids
    for _, frozen, *thresholds in serving:
        # Django, the URL resolvers and the app: far more than the interpreter
        # alone (about 10,000 objects on 3.12 and 3.13; 138,000 here on 3.11).
        assert int(frozen) > 30_000
        assert [int(t) for t in thresholds] == [50_000, 2, 3]


def _get(port: int, path: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(response.read().decode())


HEALTHZ = re.compile(
    r'^tradevision_http_request_duration_seconds_count\{method="GET",route="healthz",status="2xx"\} (\S+)$',
    re.M,
)


def test_metrics_on_either_process_count_the_requests_of_both(two_web):
    port, _ = two_web
    for _ in range(30):
        assert '"up"' in _get(port, "/healthz")  # a new connection each: both processes serve some
    counts = set()
    for _ in range(6):
        body = _get(port, "/metrics")
        found = HEALTHZ.search(body)
        assert found, body[:2000]
        counts.add(float(found.group(1)))
    assert counts == {30.0}


@pytest.fixture
def users():
    return [UserFactory() for _ in range(12)]


def _web_rows() -> list[dict]:
    return [row for row in health_report()["components"]["processes"]["processes"] if row["kind"] == "web"]


def _held(pids: set[int], port: int) -> dict[int, int]:
    """Established connections on `port` that each process holds, as the kernel sees them."""
    return {
        pid: sum(
            1
            for conn in psutil.Process(pid).net_connections("tcp")
            if conn.status == psutil.CONN_ESTABLISHED and conn.laddr and conn.laddr.port == port
        )
        for pid in pids
    }


WAVE = 6  # sockets opened at once: a wave wakes both processes
MOST_SOCKETS = 120  # 10 per user, under the per-process limit of 20


async def test_health_counts_the_sockets_of_both_and_lists_each_process(two_web, users):
    """Which process accepts a connection is the kernel's choice (both wait on
    one socket; on a loaded machine one can win many in a row), so the test
    opens sockets in waves until each process holds some, then checks the
    health report against what each process really holds."""
    port, pids = two_web
    sockets = []

    async def open_one(user) -> None:
        ticket = await sync_to_async(services.ticket_create)(user_id=user.pk)
        ws = await connect(f"ws://127.0.0.1:{port}/ws/stream/?ticket={ticket}", open_timeout=20)
        sockets.append(ws)
        assert '"type":"hello"' in await asyncio.wait_for(ws.recv(), 10)

    try:
        held = dict.fromkeys(pids, 0)
        while len(sockets) < len(users) or not all(held.values()):
            assert len(sockets) < MOST_SOCKETS, f"every socket went to one process: {held}"
            wave = [users[(len(sockets) + i) % len(users)] for i in range(WAVE)]
            await asyncio.gather(*(open_one(user) for user in wave))
            held = _held(pids, port)
        assert sum(held.values()) == len(sockets)

        def counted():
            report = health_report()
            rows = _web_rows()
            ok = report["components"]["websockets"]["open_connections"] == len(sockets)
            return (report, rows) if ok and {row["pid"]: row["connections"] for row in rows} == held else None

        # database_sync_to_async: the thread's connection is closed after each call.
        report, rows = await database_sync_to_async(wait_for)(
            counted, timeout=30, what="every socket counted"
        )
        assert all(row["live"] and row["state"] == "serving" for row in rows)
        assert report["components"]["processes"]["web"] == 2
    finally:
        for ws in sockets:
            await ws.close()
