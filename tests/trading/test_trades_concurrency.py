"""100 trade requests at once on one wallet: exactly as many are accepted as
the balance pays (stake + fee held in each request's transaction), the
others refused with `insufficient_funds` writing nothing; then the accepted
ones open at once, all of them, and the invariants hold.

The requests and the opens run on 25 threads (each its own PostgreSQL
connection; the machine's server allows 100 connections shared with other
suites), all released together by a barrier, so they contend for the same
accounts."""

import queue
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from realtime.models import Event
from tests.factories import UserFactory
from tests.trading.trades_support import assert_ledger_invariants, balance, fund, make_instrument, quote
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open, trade_request
from wallets.errors import InsufficientFunds

D = Decimal
THREADS = 25
REQUESTS = 100


def _race(items: list, work: Callable) -> tuple[list, list[BaseException]]:
    """Run `work(item)` for every item on THREADS threads released together;
    returns (results, unexpected errors)."""
    todo: queue.Queue = queue.Queue()
    for item in items:
        todo.put(item)
    barrier = threading.Barrier(THREADS)
    results: list = []
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                results.append(work(item))
        except BaseException as exc:  # reported below: a thread must not fail silently
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@pytest.mark.django_db(transaction=True)
def test_100_concurrent_requests_on_one_wallet(settings):
    settings.MAX_OPEN_TRADES = 1000
    user = UserFactory()
    inst = make_instrument("CON-USD", fee_bps=10, price_scale=2)
    # Each trade needs 10.00 + 0.01 fee: the balance covers exactly 30.
    fund(user, "300.30")
    quote(inst, "100.00")

    def request(i):
        try:
            return trade_request(
                user=user, instrument=inst.symbol, side="buy", stake=D("10.00"), idempotency_key=f"c{i}"
            ).trade.pk
        except InsufficientFunds as exc:
            assert (exc.http_status, exc.field) == (422, "stake")
            return None

    answers, errors = _race(list(range(REQUESTS)), request)
    assert errors == []
    accepted = [pk for pk in answers if pk is not None]
    assert (len(accepted), answers.count(None)) == (30, 70)
    assert Trade.objects.filter(user=user).count() == 30
    assert balance(user) == (D("0.00"), D("300.30"))
    assert Event.objects.filter(user=user, event="trade.queued").count() == 30

    opened, errors = _race(accepted, lambda pk: trade_open(trade_id=pk).status)
    assert errors == []
    assert opened == [TradeStatus.OPEN] * 30
    assert balance(user) == (D("0.00"), D("300.00"))
    assert Event.objects.filter(user=user, event="trade.opened").count() == 30
    assert Event.objects.filter(user=user, event="trade.rejected").count() == 0
    assert_ledger_invariants()
