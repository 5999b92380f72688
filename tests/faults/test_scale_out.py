"""Scale-out: two web processes on one port and two Celery workers, and what
happens to connected users when one of them dies or is restarted.

The web processes share one listening socket, started exactly as
`python -m realtime.server --processes 2` starts its children (the test
holds the socket, as the launcher does, so the port queues connections even
while every process restarts: tests/faults/processes.py `web_child_start`).
Two workers consume the test's own queue. Each user holds a WebSocket with
the reference client (`realtime.client.StreamClient`, reconnect with backoff
and resume from the last seq: tests/faults/stream_clients.py); the sockets
land on both processes (checked through the health report, which lists each
process with its open sockets: ops/processes.py). Users request trades; the
workers open them.

Every test ends with the fence of `StreamClients.finish` and checks that
each client received every event of its user exactly once, in order, then
the ledger and per-trade invariants (tests/faults/invariants.py).

- both processes serving, `FAULT_SCALE_USERS` (200) users, 2 trades each
  (the kill and restart tests below use half as many, 3 and 5 rounds);
- one web process SIGKILLed between rounds of trades: its clients' TCP
  connections drop, they reconnect to the other process and resume; the
  health report marks it lost and counts every socket on the survivor;
- one worker SIGKILLed inside `trade_open`'s transaction (fault point
  `trade_open.reserved`, armed to hold one pass only): the other worker,
  still running, gets the unacknowledged message back (visibility timeout
  3 s, restore sweep every second here) and opens that trade; every trade
  opens once;
- a rolling restart (SIGTERM one web process, start its replacement, then
  the other) between rounds of trades: every client is closed with 1012 at
  least once, never dropped, and nothing is lost or repeated.
"""

import os
import signal
import subprocess
import time
import uuid
from decimal import Decimal
from pathlib import Path

import psutil
import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from ops.selectors import health_report
from realtime.close_codes import CLOSE_SERVICE_RESTART
from tests.factories import UserFactory
from tests.faults.invariants import assert_ledger_invariants, assert_trades_consistent
from tests.faults.processes import free_port, wait_for, web_child_start, web_socket
from tests.faults.stream_clients import StreamClients
from tests.trading.trades_support import fund, make_instrument, quote
from trading.faults import fault_arm, fault_disarm, fault_hit_pid
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_request
from wallets.models import LedgerTransaction

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal
USERS = int(os.environ.get("FAULT_SCALE_USERS", "200"))
# The kill and restart tests move every client of a process: half as many
# keeps each within about a minute on a 2-core machine.
MOVING_USERS = max(2, USERS // 2)
STAKE = D("10.00")
# Short heartbeats, so a dead web process or worker shows as lost in seconds.
FAST = {"OPS_HEARTBEAT_SECONDS": "1"}
VISIBILITY = 3


class Cluster:
    """Two web processes on one socket, two workers, one client per user."""

    def __init__(self, processes, logs: Path, worker_env: dict[str, str] | None = None) -> None:
        self.processes = processes
        self.logs = logs
        self.port = free_port()
        self.sock = web_socket(self.port)
        self.workers = [processes.worker(**FAST, **(worker_env or {})) for _ in range(2)]
        self.webs = [self.web(f"web-{n}") for n in "ab"]
        self.clients: StreamClients | None = None

    def web(self, name: str) -> subprocess.Popen[bytes]:
        return self.processes.add(
            web_child_start(self.sock, log=self.logs / f"{name}.log", name=name, **FAST)
        )

    def connect(self, users) -> StreamClients:
        self.clients = StreamClients(
            base_url=f"http://127.0.0.1:{self.port}",
            tokens={u.pk: Token.objects.create(user=u).key for u in users},
        )
        self.clients.start()
        return self.clients

    def close(self) -> None:
        if self.clients is not None:
            self.clients.stop()
        self.sock.close()


@pytest.fixture
def cluster(processes, tmp_path):
    made: list[Cluster] = []

    def make(**worker_env: str) -> Cluster:
        made.append(Cluster(processes, tmp_path, worker_env))
        return made[-1]

    yield make
    for one in made:
        one.close()


def _users(n: int, inst) -> list:
    users = [UserFactory() for _ in range(n)]
    for user in users:
        fund(user, "1000.00")
    return users


def _request_round(users, inst, tag: str) -> list[int]:
    quote(inst, "100.00")
    return [
        trade_request(
            user=user,
            instrument=inst.symbol,
            side="buy",
            stake=STAKE,
            idempotency_key=f"{tag}-{uuid.uuid4().hex}",
        ).trade.pk
        for user in users
    ]


def _all_open(inst, ids: list[int], processes, timeout: float = 120) -> None:
    def done() -> bool:
        quote(inst, "100.00")  # fresh, however long the workers take
        return not Trade.objects.filter(pk__in=ids, status=TradeStatus.QUEUED).exists()

    wait_for(done, timeout=timeout, what=f"every trade out of queued\n{processes.log_tail()}")
    assert set(Trade.objects.filter(pk__in=ids).values_list("status", flat=True)) == {TradeStatus.OPEN}


def _web_rows(report) -> list[dict]:
    return [row for row in report["components"]["processes"]["processes"] if row["kind"] == "web"]


def _sockets_per_process(expected_total: int) -> dict[int, int]:
    """Open sockets per live web process (pid), once they add up to the total."""

    def counted() -> dict[int, int] | None:
        report = health_report()
        live = {row["pid"]: row["connections"] for row in _web_rows(report) if row["live"]}
        ok = report["components"]["websockets"]["open_connections"] == expected_total
        return live if ok and sum(live.values()) == expected_total else None

    return wait_for(counted, timeout=60, what=f"{expected_total} sockets counted over the live web processes")


def _finish(clients: StreamClients, *, trades: int) -> None:
    clients.assert_exactly_once(clients.finish(timeout=120))
    assert_trades_consistent(expected_count=trades)
    assert_ledger_invariants()


def test_users_on_both_web_processes_get_every_event_of_their_trades_once(cluster, processes):
    inst = make_instrument("SCL-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    users = _users(USERS, inst)
    one = cluster()
    clients = one.connect(users)
    per_process = _sockets_per_process(USERS)
    assert set(per_process) == {web.pid for web in one.webs}
    assert all(count > 0 for count in per_process.values()), per_process

    ids = _request_round(users, inst, "r1") + _request_round(users, inst, "r2")
    _all_open(inst, ids, processes)
    report = health_report()["components"]["processes"]
    assert (report["web"], report["workers"]) == (2, 2)
    _finish(clients, trades=2 * USERS)
    assert all(client.stats.connects == 1 for client in clients.clients)


def test_a_killed_web_process_loses_its_clients_to_the_other_with_nothing_missed(cluster, processes):
    inst = make_instrument("SKL-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    users = _users(MOVING_USERS, inst)
    one = cluster()
    clients = one.connect(users)
    victim, survivor = one.webs
    on_victim = _sockets_per_process(MOVING_USERS)[victim.pid]
    assert on_victim > 0

    ids = _request_round(users, inst, "r1")
    processes.kill(victim)  # SIGKILL: no close frame, no clean-up
    ids += _request_round(users, inst, "r2")  # while its clients reconnect
    ids += _request_round(users, inst, "r3")
    _all_open(inst, ids, processes)

    # Every socket is on the survivor now; the dead process is listed as lost.
    assert _sockets_per_process(MOVING_USERS) == {survivor.pid: MOVING_USERS}
    lost = wait_for(
        lambda: [r for r in _web_rows(health_report()) if r["pid"] == victim.pid and not r["live"]],
        timeout=30,
        what="the killed process shown as lost",
    )
    assert lost
    _finish(clients, trades=3 * MOVING_USERS)
    reconnected = [c for c in clients.clients if c.stats.connects > 1]
    assert len(reconnected) == on_victim
    assert all(None in c.stats.closes for c in reconnected)  # dropped, not closed


def _queued_rows_locked() -> list[int]:
    """Queued trades whose row another session holds (a worker inside `trade_open`)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM trading_trade WHERE status = 'queued' ORDER BY id")
        queued = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT id FROM trading_trade WHERE status = 'queued' ORDER BY id FOR UPDATE SKIP LOCKED"
        )
        free = {row[0] for row in cursor.fetchall()}
    return [pk for pk in queued if pk not in free]


def _row_held_by_the_sleeper() -> set[int]:
    """The queued trade row locked for the whole time (the other worker's
    own opens lock rows too, each for a moment)."""
    held = set(wait_for(_queued_rows_locked, timeout=10, what="the opening trade's row locked"))
    for _ in range(100):
        time.sleep(0.1)
        held &= set(_queued_rows_locked())
        if len(held) == 1:
            return held
    raise AssertionError(f"no single row stayed locked: {held}")


def _worker_holding(pid: int, workers: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    for worker in workers:
        family = {worker.pid} | {p.pid for p in psutil.Process(worker.pid).children(recursive=True)}
        if pid in family:
            return worker
    raise AssertionError(f"no worker has process {pid}")


def test_a_worker_killed_mid_initiation_leaves_its_trade_to_the_other(cluster, processes):
    inst = make_instrument("SWK-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    users = _users(30, inst)
    one = cluster(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY), CELERY_UNACKED_RESTORE_SECONDS="1")
    clients = one.connect(users)
    ids = [pk for n in range(4) for pk in _request_round(users, inst, f"r{n}")]

    def some_open() -> bool:
        quote(inst, "100.00")
        return Trade.objects.filter(status=TradeStatus.OPEN).count() >= 10

    wait_for(some_open, timeout=90, what=f"some trades open\n{processes.log_tail()}")
    # The next open, in whichever worker takes it, stops inside its
    # transaction (fee charged, row not saved); only that one pass sleeps.
    fault_arm("trade_open.reserved", sleep_seconds=120, sleep_times=1)
    wait_for(lambda: fault_hit_pid("trade_open.reserved"), timeout=60, what="a worker inside an open")
    (inside,) = _row_held_by_the_sleeper()
    killed = _worker_holding(fault_hit_pid("trade_open.reserved"), one.workers)
    (other,) = [w for w in one.workers if w is not killed]
    processes.kill(killed)
    fault_disarm("trade_open.reserved")

    # Never committed: the trade is queued, holding only its request's hold.
    trade = Trade.objects.get(pk=inside)
    assert (trade.status, trade.attempts) == (TradeStatus.QUEUED, 0)
    assert list(
        LedgerTransaction.objects.filter(reference=f"trade:{inside}").values_list("kind", flat=True)
    ) == ["reserve"]

    # The other worker, which never stopped, opens it and everything else.
    _all_open(inst, ids, processes, timeout=150)
    assert other.poll() is None
    workers = wait_for(
        lambda: (
            (w := health_report()["components"]["processes"]) and w["workers"] == 1 and w["lost"] >= 1 and w
        ),
        timeout=30,
        what="one live worker and the killed one lost",
    )
    assert workers["web"] == 2
    _finish(clients, trades=4 * len(users))


def test_a_rolling_restart_of_both_web_processes_loses_nothing(cluster, processes):
    inst = make_instrument("SRR-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    users = _users(MOVING_USERS, inst)
    one = cluster()
    clients = one.connect(users)
    first, second = one.webs
    assert all(count > 0 for count in _sockets_per_process(MOVING_USERS).values())

    ids = _request_round(users, inst, "r1")
    first.send_signal(signal.SIGTERM)  # drains: 1012 to its clients, which move to `second`
    ids += _request_round(users, inst, "r2")
    assert first.wait(timeout=30) == 0
    replacement = one.web("web-a2")
    ids += _request_round(users, inst, "r3")
    second.send_signal(signal.SIGTERM)
    ids += _request_round(users, inst, "r4")
    assert second.wait(timeout=30) == 0
    one.web("web-b2")
    ids += _request_round(users, inst, "r5")
    _all_open(inst, ids, processes)

    # Every socket is on the two new processes (the ones holding sockets; the
    # drained ones' records are gone: tests/ops/test_processes.py).
    holding = {pid for pid, count in _sockets_per_process(MOVING_USERS).items() if count}
    assert holding <= {replacement.pid, one.processes.started[-1].pid}
    _finish(clients, trades=5 * MOVING_USERS)
    for client in clients.clients:
        # Closed by a draining process at least once, never dropped.
        assert CLOSE_SERVICE_RESTART in client.stats.closes, client.stats
        assert set(client.stats.closes) == {CLOSE_SERVICE_RESTART}, client.stats
    for name in ("web-a", "web-b"):
        text = (one.logs / f"{name}.log").read_text()
        assert "drained: every connection is closed" in text
        assert "Traceback" not in text
