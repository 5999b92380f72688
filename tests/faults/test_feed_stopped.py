"""The market feed stops (its process ends) while trading goes on.

Documented outcome (docs/trading.md, docs/operations.md): once the latest
price is older than `PRICE_STALE_AFTER`, a requested trade is retried as a
transient "no fresh price" three times and then ends `rejected` with
`stale_price`, holding nothing; the staff health report shows the feed red
for that instrument; when the feed comes back, trades open again. Trades
already open are untouched.

(A stale price injected without a feed is covered by
tests/integration/test_trade_worker.py::test_stale_price_is_retried_then_rejected_stale_price.)
"""

from decimal import Decimal

import pytest

from market.prices import price_latest
from ops.selectors import feed_check
from tests.factories import InstrumentFactory, UserFactory
from tests.faults.invariants import assert_ledger_invariants, assert_trades_consistent
from tests.faults.processes import stop, wait_for
from tests.trading.feed_process import feed_start
from tests.trading.trades_support import balance, fund
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_request

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal
SYMBOL = "BTC-USD"
STALE_AFTER = "3"


def _final(trade_id: int, log: str) -> Trade:
    return wait_for(
        lambda: (t := Trade.objects.get(pk=trade_id)).status != TradeStatus.QUEUED and t,
        timeout=120,
        what=f"trade {trade_id} to leave queued\n{log}",
    )


def _request(user, key: str) -> int:
    return trade_request(
        user=user, instrument=SYMBOL, side="buy", stake=D("100.00"), idempotency_key=key
    ).trade.pk


def _btc(report):
    return next(row for row in report["instruments"] if row["symbol"] == SYMBOL)


def test_stopped_feed_rejects_new_trades_as_stale_and_recovers(processes, tmp_path, settings):
    settings.PRICE_STALE_AFTER = int(STALE_AFTER)
    InstrumentFactory(symbol=SYMBOL)  # the seed may have been flushed by another transactional test
    user = UserFactory()
    fund(user, "1000.00")
    feed_log = tmp_path / "feed.log"
    feed = feed_start("--symbols", SYMBOL, "--seconds", "300", log=feed_log)
    try:
        processes.worker(PRICE_STALE_AFTER=STALE_AFTER)
        wait_for(lambda: not price_latest(SYMBOL).stale, timeout=60, what="a fresh price from the feed")
        assert _btc(feed_check())["status"] == "green"
        first = _final(_request(user, "before"), processes.log_tail())
        assert first.status == TradeStatus.OPEN

        assert stop(feed) == 0, feed_log.read_text()
        wait_for(lambda: price_latest(SYMBOL).stale, timeout=30, what="the price to go stale")
        row = _btc(feed_check())
        assert (row["status"], row["stale"], row["market_open"]) == ("red", True, True)

        stale = _final(_request(user, "while-stopped"), processes.log_tail())
        assert (stale.status, stale.failure_code, stale.attempts) == (TradeStatus.REJECTED, "stale_price", 4)
        # Only the first trade holds money: 100.00 stake, 0.10 fee.
        assert balance(user) == (D("899.90"), D("100.00"))

        feed = feed_start("--symbols", SYMBOL, "--seconds", "300", log=feed_log)
        wait_for(lambda: not price_latest(SYMBOL).stale, timeout=60, what="the feed back")
        assert _btc(feed_check())["status"] == "green"
        after = _final(_request(user, "after"), processes.log_tail())
        assert after.status == TradeStatus.OPEN
    finally:
        stop(feed)
    assert Trade.objects.get(pk=first.pk).status == TradeStatus.OPEN
    assert balance(user) == (D("799.80"), D("200.00"))
    assert_trades_consistent(expected_count=3)
    assert_ledger_invariants()
