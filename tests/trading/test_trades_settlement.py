"""Settlement at expiry and at levels, with prices fixed by the test; two
concurrent runs settle each trade once."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from realtime.models import Event
from tests.trading.trades_support import (
    assert_ledger_invariants,
    balance,
    fund,
    make_instrument,
    quote,
    tick,
)
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open, trade_request
from trading.trades.settlement import trades_settle_due

D = Decimal


@pytest.fixture
def inst(db):
    return make_instrument("STL-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


def open_trade(user, inst, *, side="buy", stake="1000.00", key=None, **kw):
    trade = trade_request(
        user=user,
        instrument=inst.symbol,
        side=side,
        stake=D(stake),
        idempotency_key=key or f"k-{side}-{stake}",
        **kw,
    ).trade
    trade = trade_open(trade_id=trade.pk)
    assert trade.status == TradeStatus.OPEN
    return trade


def expire(trade, *, ago=timedelta(minutes=1)):
    """Move the trade's expiry into the past (as if its lifetime had run)."""
    expires = timezone.now() - ago
    Trade.objects.filter(pk=trade.pk).update(expires_at=expires)
    trade.refresh_from_db()
    return expires


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("side", "expiry_price", "pnl", "available"),
    [
        # qty 10 at 100.00; 5000 - 1000 - 1 + 1000 + pnl - close fee
        ("buy", "123.45", D("234.50"), D("5232.50")),
        ("buy", "87.65", D("-123.50"), D("4874.50")),
        ("sell", "123.45", D("-234.50"), D("4763.50")),
        ("sell", "87.65", D("123.50"), D("5121.50")),
    ],
)
def test_settles_at_the_last_price_at_or_before_expiry(user, inst, side, expiry_price, pnl, available):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, side=side)
    expires = expire(trade)
    tick(inst, expiry_price, expires - timedelta(seconds=1))
    tick(inst, "999.00", expires + timedelta(seconds=1))  # after expiry: must not be used
    report = trades_settle_due()
    assert report.settled == 1
    trade.refresh_from_db()
    assert trade.status == TradeStatus.SETTLED
    assert trade.exit_price == D(expiry_price)
    assert trade.closed_at == expires
    assert trade.close_reason == "expiry"
    assert trade.pnl == pnl
    assert trade.fee == D("2.00")
    assert balance(user) == (available, D("0.00"))
    assert Event.objects.filter(user=user, event="trade.settled").count() == 1
    assert_ledger_invariants()


@pytest.mark.django_db
def test_liquidation_of_a_short_loses_exactly_the_stake(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, side="sell")
    assert trade.liquidation_price == D("200.00")
    quote(inst, "250.00")  # the price ran past the level
    report = trades_settle_due()
    assert report.settled == 1
    trade.refresh_from_db()
    assert (trade.close_reason, trade.exit_price, trade.pnl) == ("liquidation", D("200.00"), D("-1000.00"))
    assert trade.fee == D("1.00")  # nothing left for a closing fee
    assert balance(user) == (D("3999.00"), D("0.00"))
    assert_ledger_invariants()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("price", "reason", "exit_price", "pnl"),
    [("111.00", "take_profit", "110.00", D("100.00")), ("94.00", "stop_loss", "95.00", D("-50.00"))],
)
def test_take_profit_and_stop_loss_settle_at_their_level(user, inst, price, reason, exit_price, pnl):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, take_profit="110.00", stop_loss="95.00")
    quote(inst, "105.00")
    assert trades_settle_due().settled == 0
    quote(inst, price)
    assert trades_settle_due().settled == 1
    trade.refresh_from_db()
    assert (trade.close_reason, trade.exit_price, trade.pnl) == (reason, D(exit_price), pnl)
    assert balance(user) == (D("5000.00") - D("2.00") + pnl, D("0.00"))


@pytest.mark.django_db
def test_waits_for_the_feed_to_record_through_expiry_then_settles(user, inst, settings):
    settings.SETTLEMENT_GRACE_SECONDS = 120
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst)
    expires = expire(trade, ago=timedelta(seconds=10))
    tick(inst, "101.00", expires - timedelta(seconds=30))  # recorded only up to 30 s before expiry
    report = trades_settle_due()
    assert (report.settled, report.waiting) == (0, 1)
    tick(inst, "102.00", expires)  # the feed catches up
    assert trades_settle_due().settled == 1
    trade.refresh_from_db()
    assert trade.exit_price == D("102.00")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_settle_each_trade_once(user, inst, settings):
    settings.SETTLEMENT_BATCH_SIZE = 5
    settings.MAX_OPEN_TRADES = 100
    fund(user, "5000.00")
    quote(inst, "100.00")
    trades = [open_trade(user, inst, stake="10.00", key=f"c{i}") for i in range(40)]
    expires = timezone.now() - timedelta(minutes=1)
    Trade.objects.filter(pk__in=[t.pk for t in trades]).update(expires_at=expires)
    tick(inst, "101.00", expires)
    reports = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            reports.append(trades_settle_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.settled for r in reports) == 40
    assert sum(r.errors for r in reports) == 0
    assert Trade.objects.filter(status=TradeStatus.SETTLED).count() == 40
    assert Event.objects.filter(user=user, event="trade.settled").count() == 40
    # Each trade: +0.10 P&L, 0.01 + 0.01 fees.
    assert balance(user) == (D("5000.00") + 40 * (D("0.10") - D("0.02")), D("0.00"))
    assert_ledger_invariants()


@pytest.mark.django_db
def test_one_bad_trade_does_not_hold_back_its_batch(user, other_user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    good = [open_trade(user, inst, stake="10.00", key=f"g{i}") for i in range(3)]
    # A trade whose stake was never reserved (as if the ledger had lost it):
    # settling it would take the reserved account below zero.
    now = timezone.now()
    bad = Trade.objects.create(
        user=other_user,
        instrument=inst,
        side="buy",
        status=TradeStatus.OPEN,
        currency="USD",
        stake=D("10.00"),
        quantity=D("0.1"),
        duration=timedelta(hours=1),
        entry_price=D("100.00"),
        opened_at=now - timedelta(hours=1),
        expires_at=now - timedelta(minutes=1),
        idempotency_key="bad",
        request_fingerprint="x",
    )
    expires = now - timedelta(minutes=1)
    Trade.objects.filter(pk__in=[t.pk for t in good]).update(expires_at=expires)
    tick(inst, "100.00", expires)
    report = trades_settle_due()
    assert (report.settled, report.errors) == (3, 1)
    assert Trade.objects.filter(pk__in=[t.pk for t in good], status=TradeStatus.SETTLED).count() == 3
    bad.refresh_from_db()
    assert bad.status == TradeStatus.OPEN
    assert balance(other_user) == (D("0.00"), D("0.00"))
    assert_ledger_invariants()


def _expired_trades(users, inst, per_user, *, tag, expires):
    trades = [
        open_trade(user, inst, stake="10.00", key=f"{tag}-{user.pk}-{n}")
        for user in users
        for n in range(per_user)
    ]
    Trade.objects.filter(pk__in=[t.pk for t in trades]).update(expires_at=expires)
    return trades


@pytest.mark.django_db
def test_a_batch_takes_the_same_statements_whatever_its_size(user, other_user, inst, settings):
    """Counted, not timed: settling 3 trades of one user or 12 of three users
    in one batch sends the same number of SQL statements (set-based: no
    statement per trade or per user)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import UserFactory

    settings.MAX_OPEN_TRADES = 100
    users = [user, other_user, UserFactory()]
    for someone in users:
        fund(someone, "5000.00")
    quote(inst, "100.00")
    expires = timezone.now() - timedelta(minutes=1)
    tick(inst, "101.00", expires)
    statements = []
    for tag, owners, per_user in (("small", users[:1], 3), ("large", users, 4)):
        _expired_trades(owners, inst, per_user, tag=tag, expires=expires)
        with CaptureQueriesContext(connection) as queries:
            report = trades_settle_due(batch_size=500)
        assert report.settled == len(owners) * per_user
        statements.append([q["sql"].split()[0] for q in queries.captured_queries])
    assert len(statements[0]) == len(statements[1]), statements
    assert Event.objects.filter(event="trade.settled").count() == 15
    assert_ledger_invariants()


@pytest.mark.django_db
def test_trades_left_waiting_are_read_once_per_run(user, inst, settings):
    """Batches start where the previous one ended: trades a batch left open
    (no price recorded through their expiry yet) are not read again by the
    same run, and every later trade still settles."""
    settings.MAX_OPEN_TRADES = 100
    settings.SETTLEMENT_GRACE_SECONDS = 3600
    fund(user, "5000.00")
    quote(inst, "100.00")
    now = timezone.now()
    late = _expired_trades([user], inst, 3, tag="late", expires=now - timedelta(seconds=10))
    early = _expired_trades([user], inst, 3, tag="early", expires=now - timedelta(minutes=2))
    tick(inst, "101.00", now - timedelta(minutes=3))
    tick(inst, "102.00", now - timedelta(minutes=1))  # recorded through the early expiry only
    report = trades_settle_due(now=now, batch_size=2)
    assert (report.settled, report.waiting, report.errors) == (3, 3, 0)
    assert {t.status for t in Trade.objects.filter(pk__in=[t.pk for t in early])} == {TradeStatus.SETTLED}
    assert {t.status for t in Trade.objects.filter(pk__in=[t.pk for t in late])} == {TradeStatus.OPEN}
