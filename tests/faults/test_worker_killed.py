"""SIGKILL a Celery worker in the middle of `process_completed_trades`, and in
the middle of `initiate_manual_trade` during a burst of initiations. Each
kill is made to land inside the task's open database transaction, and the
test checks that it did before killing.

Settlement: 20 open trades past expiry, 10 of user A then 10 of user B, are
settled in batches of 7 (one transaction per batch). The test holds B's
ledger account rows locked, so the worker settles batch 1 (A1..A7), commits,
then settles A8..A10 inside batch 2 and blocks on B's first trade: it is
killed there, mid-transaction, guaranteed. Then a fresh worker settles
everything: each trade exactly once, to the cent.

Initiation: 40 trades of 4 users are requested; once 3 are open, the fault
point `trade_open.reserved` (trading/faults.py, as
tests/integration/test_trade_worker.py uses it) is armed to sleep, so the
next `initiate_manual_trade` stops inside `trade_open`'s transaction after
the opening fee was charged out of the request's hold and before the trade
row is saved. The test waits until it is there (the point was hit and that
trade's row is locked by another session) and SIGKILLs the worker. The
transaction never commits: that trade is still queued, holding only what its
request held. A fresh worker gets the
unacknowledged messages back and opens every trade exactly once. Each user
holds a WebSocket connection with the reference client through a real
daphne the whole time (tests/faults/stream_clients.py), in both tests: each
ends with every event of its user exactly once, in order.

Instead of sleeping "long enough" before the fresh worker starts, the test
polls the broker until the killed worker's unacknowledged messages are
older than the visibility timeout (3 s here), so the fresh worker's
start-up restore redelivers them at once.
"""

import time
import uuid
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from config.celery_app import app
from market.prices import price_recorded_mark
from tests.factories import UserFactory
from tests.faults.invariants import assert_ledger_invariants, assert_trades_consistent
from tests.faults.processes import database_url, wait_for, wait_redelivery_due
from tests.trading.trades_support import balance, fund, make_instrument, quote, tick
from trading.faults import fault_arm, fault_disarm, fault_hits
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open, trade_request
from wallets.models import LedgerTransaction

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal
SETTLE = "trading.tasks.process_completed_trades"
VISIBILITY = 3


def _open(user, inst, n):
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("100.00"), idempotency_key=f"k{n}"
    ).trade
    return trade_open(trade_id=trade.pk)


def _lock_accounts_of(user) -> psycopg.Connection:
    """Another session holding `user`'s ledger rows (as a long transfer would)."""
    conn = psycopg.connect(database_url().replace("postgres://", "postgresql://"))
    conn.execute("SELECT id FROM wallets_account WHERE owner_id = %s ORDER BY id FOR UPDATE", [user.pk])
    return conn


def _worker_waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0] > 0


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


def _the_sleeping_open() -> list[int] | None:
    """The one queued row still locked a second later: the open asleep at the
    fault point (120 s), not another child's open that was about to commit."""
    first = _queued_rows_locked()
    if len(first) != 1:
        return None
    time.sleep(1)
    return first if _queued_rows_locked() == first else None


def test_worker_killed_mid_settlement_batch_settles_each_trade_once(processes, stream_clients):
    inst = make_instrument("KIL-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    a, b = UserFactory(), UserFactory()
    fund(a, "2000.00")
    fund(b, "2000.00")
    trades = [_open(a, inst, n) for n in range(10)] + [_open(b, inst, n) for n in range(10)]
    assert all(t.status == TradeStatus.OPEN for t in trades)
    expired_at = timezone.now() - timedelta(minutes=1)
    Trade.objects.filter(pk__in=[t.pk for t in trades]).update(expires_at=expired_at)
    tick(inst, "110.00", expired_at - timedelta(seconds=1))
    # The feed has recorded past the expiry: settlement need not wait for it.
    price_recorded_mark(symbols=[inst.symbol], through=timezone.now())
    clients = stream_clients([a, b])

    blocker = _lock_accounts_of(b)
    try:
        env = {"SETTLEMENT_BATCH_SIZE": "7", "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY)}
        first = processes.worker(**env)
        app.send_task(SETTLE, queue=processes.queue)
        wait_for(_worker_waiting_on_a_lock, timeout=90, what="the worker to block inside batch 2")
        processes.kill(first)
    finally:
        blocker.rollback()
        blocker.close()

    # Batch 1 committed; batch 2 (A8..A10 settled, then blocked) rolled back.
    settled = Trade.objects.filter(status=TradeStatus.SETTLED)
    assert sorted(settled.values_list("pk", flat=True)) == [t.pk for t in trades[:7]]
    assert_ledger_invariants()
    assert_trades_consistent(expected_count=20)

    assert wait_redelivery_due(processes.queue, visibility_timeout=VISIBILITY) == 1
    processes.worker(**env)
    app.send_task(SETTLE, queue=processes.queue)
    wait_for(
        lambda: Trade.objects.filter(status=TradeStatus.SETTLED).count() == 20,
        timeout=120,
        what=f"every trade settled\n{processes.log_tail()}",
    )
    final = assert_trades_consistent(expected_count=20)
    # qty 1 at 100.00, exit 110.00: P&L +10.00 each; fee 0.10 to open, 0.10 to close.
    assert {t.pnl for t in final} == {D("10.00")}
    assert balance(a) == (D("2098.00"), D("0.00"))
    assert balance(b) == (D("2098.00"), D("0.00"))
    assert_ledger_invariants()
    clients.assert_exactly_once(clients.finish())


def test_worker_killed_during_a_burst_of_initiations_opens_each_trade_once(processes, stream_clients):
    inst = make_instrument("BRS-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    users = [UserFactory() for _ in range(4)]
    for user in users:
        fund(user, "1000.00")
    clients = stream_clients(users)
    env = {"CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY)}
    first = processes.worker(**env)
    ids = [
        trade_request(
            user=user, instrument=inst.symbol, side="buy", stake=D("50.00"), idempotency_key=uuid.uuid4().hex
        ).trade.pk
        for user in users
        for _ in range(10)
    ]

    def some_open() -> bool:
        quote(inst, "100.00")  # fresh, however slowly the worker starts
        return Trade.objects.filter(status=TradeStatus.OPEN).count() >= 3

    wait_for(some_open, timeout=90, what=f"some trades open\n{processes.log_tail()}")
    # The next open stops inside its transaction, the fee charged, the row not yet saved.
    fault_arm("trade_open.reserved", sleep_seconds=120)
    wait_for(lambda: fault_hits("trade_open.reserved") >= 1, timeout=60, what="the worker inside an open")
    (inside,) = wait_for(_the_sleeping_open, timeout=20, what="the opening trade's row locked")
    opened_before = Trade.objects.filter(status=TradeStatus.OPEN).count()
    processes.kill(first)
    fault_disarm("trade_open.reserved")

    # The open that was killed never committed: the trade is queued and holds
    # only its request's hold (no fee charged).
    killed = Trade.objects.get(pk=inside)
    assert (killed.status, killed.attempts) == (TradeStatus.QUEUED, 0)
    assert list(
        LedgerTransaction.objects.filter(reference=f"trade:{inside}").values_list("kind", "idempotency_key")
    ) == [("reserve", f"trade:{inside}:hold")]
    assert Trade.objects.filter(status=TradeStatus.OPEN).count() == opened_before
    assert_ledger_invariants()
    assert_trades_consistent(expected_count=40)

    quote(inst, "100.00")
    assert wait_redelivery_due(processes.queue, visibility_timeout=VISIBILITY) >= 1
    processes.worker(**env)

    def none_queued() -> bool:
        quote(inst, "100.00")
        return not Trade.objects.filter(pk__in=ids, status=TradeStatus.QUEUED).exists()

    wait_for(
        none_queued,
        timeout=120,
        what=f"every trade out of queued\n{processes.log_tail()}",
    )
    final = assert_trades_consistent(expected_count=40)
    assert {t.status for t in final} == {TradeStatus.OPEN}
    for user in users:
        # 10 x (50.00 stake + 0.05 fee)
        assert balance(user) == (D("499.50"), D("500.00"))
    assert_ledger_invariants()
    # Each client, connected throughout, got every event of its user exactly once, in order.
    clients.assert_exactly_once(clients.finish())
