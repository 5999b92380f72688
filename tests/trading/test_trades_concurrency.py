"""100 trades opening at once on one wallet: exactly as many open as the
balance allows, the others `rejected: insufficient_funds`, invariants hold.

The 100 opens run on 25 threads (each its own PostgreSQL connection; the
machine's server allows 100 connections shared with other suites), all
released together by a barrier, so they contend for the same accounts."""

import queue
import threading
from decimal import Decimal

import pytest
from django.db import connection

from realtime.models import Event
from tests.factories import UserFactory
from tests.trading.trades_support import assert_ledger_invariants, balance, fund, make_instrument, quote
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open, trade_request

D = Decimal
THREADS = 25
REQUESTS = 100


@pytest.mark.django_db(transaction=True)
def test_100_concurrent_opens_on_one_wallet(settings):
    settings.MAX_OPEN_TRADES = 1000
    user = UserFactory()
    inst = make_instrument("CON-USD", fee_bps=10, price_scale=2)
    # Each trade needs 10.00 + 0.01 fee: the balance covers exactly 30.
    fund(user, "300.30")
    quote(inst, "100.00")
    ids = [
        trade_request(
            user=user, instrument=inst.symbol, side="buy", stake=D("10.00"), idempotency_key=f"c{i}"
        ).trade.pk
        for i in range(REQUESTS)
    ]
    work: queue.Queue[int] = queue.Queue()
    for trade_id in ids:
        work.put(trade_id)
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            while True:
                try:
                    trade_id = work.get_nowait()
                except queue.Empty:
                    return
                trade_open(trade_id=trade_id)
        except BaseException as exc:  # reported below: a thread must not fail silently
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    statuses = Trade.objects.filter(user=user)
    assert statuses.filter(status=TradeStatus.OPEN).count() == 30
    rejected = statuses.filter(status=TradeStatus.REJECTED)
    assert rejected.count() == 70
    assert set(rejected.values_list("failure_code", flat=True)) == {"insufficient_funds"}
    assert balance(user) == (D("0.00"), D("300.00"))
    assert Event.objects.filter(user=user, event="trade.opened").count() == 30
    assert Event.objects.filter(user=user, event="trade.rejected").count() == 70
    assert_ledger_invariants()
