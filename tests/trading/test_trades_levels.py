"""Levels between settlement runs: each run walks the recorded price path
since the last one (trading/trades/levels.py), so a level touched and left
again between two runs still closes the trade, at its level, at that instant."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.trading.trades_support import assert_ledger_invariants, balance, fund, make_instrument, quote, tick
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open, trade_request
from trading.trades.settlement import trades_settle_due

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("LVL-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


def open_trade(user, inst, key="l1", **levels):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("1000.00"), idempotency_key=key, **levels
    ).trade
    return trade_open(trade_id=trade.pk)


def path(inst, start, prices):
    """One recorded tick per second after `start`; the live price ends where the path does."""
    for n, price in enumerate(prices, start=1):
        tick(inst, price, start + timedelta(seconds=n))
    quote(inst, prices[-1], start + timedelta(seconds=len(prices)))
    return start + timedelta(seconds=len(prices))


def test_a_level_touched_and_left_between_runs_closes_at_the_level_when_touched(user, inst):
    trade = open_trade(user, inst, take_profit=D("110.00"), stop_loss=D("95.00"))
    end = path(inst, trade.opened_at, ["104.00", "110.50", "106.00", "103.00"])
    assert trades_settle_due(now=end).settled == 1
    trade.refresh_from_db()
    assert (trade.status, trade.close_reason, trade.exit_price) == (
        TradeStatus.SETTLED,
        "take_profit",
        D("110.00"),
    )
    assert trade.closed_at == trade.opened_at + timedelta(seconds=2)
    # qty 10: +100.00; fees 1.00 + 1.00
    assert trade.pnl == D("100.00")
    assert balance(user) == (D("5098.00"), D("0.00"))
    assert_ledger_invariants()


def test_the_first_level_reached_wins(user, inst):
    trade = open_trade(user, inst, take_profit=D("110.00"), stop_loss=D("95.00"))
    end = path(inst, trade.opened_at, ["99.00", "94.50", "111.00", "100.00"])
    trades_settle_due(now=end)
    trade.refresh_from_db()
    assert (trade.close_reason, trade.exit_price, trade.pnl) == ("stop_loss", D("95.00"), D("-50.00"))
    assert trade.closed_at == trade.opened_at + timedelta(seconds=2)


def test_prices_before_the_trade_opened_do_not_count(user, inst):
    before = timezone.now() - timedelta(seconds=30)
    tick(inst, "120.00", before)  # above the take-profit, but before the open
    trade = open_trade(user, inst, take_profit=D("110.00"))
    end = path(inst, trade.opened_at, ["101.00", "102.00"])
    assert trades_settle_due(now=end).settled == 0
    trade.refresh_from_db()
    assert trade.status == TradeStatus.OPEN


def test_a_later_run_still_sees_what_happened_after_the_previous_one(user, inst):
    trade = open_trade(user, inst, stop_loss=D("95.00"))
    middle = path(inst, trade.opened_at, ["99.00", "98.00"])
    assert trades_settle_due(now=middle).settled == 0
    end = path(inst, middle, ["94.00", "97.00"])  # touched and left before the next run
    assert trades_settle_due(now=end).settled == 1
    trade.refresh_from_db()
    assert (trade.close_reason, trade.closed_at) == ("stop_loss", middle + timedelta(seconds=1))


def test_a_level_reached_before_expiry_beats_the_expiry_price(user, inst):
    trade = open_trade(user, inst, take_profit=D("110.00"))
    expires = trade.opened_at + timedelta(seconds=3)
    Trade.objects.filter(pk=trade.pk).update(expires_at=expires)
    end = path(inst, trade.opened_at, ["105.00", "112.00", "104.00", "101.00", "130.00"])
    assert trades_settle_due(now=end).settled == 1
    trade.refresh_from_db()
    assert (trade.close_reason, trade.exit_price) == ("take_profit", D("110.00"))


def test_a_level_reached_after_expiry_does_not_count(user, inst):
    trade = open_trade(user, inst, take_profit=D("110.00"))
    expires = trade.opened_at + timedelta(seconds=2)
    Trade.objects.filter(pk=trade.pk).update(expires_at=expires)
    end = path(inst, trade.opened_at, ["105.00", "104.00", "112.00"])
    assert trades_settle_due(now=end).settled == 1
    trade.refresh_from_db()
    assert (trade.close_reason, trade.exit_price, trade.closed_at) == ("expiry", D("104.00"), expires)
