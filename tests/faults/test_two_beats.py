"""Two beat schedulers run at once (a deploy that started a second one by
mistake) on an accelerated schedule (tests/faults/beat_settings.py: every
periodic task every 2 to 7 seconds), with two worker processes, for about 45
seconds, while 20 trades reach their expiry one every 2 seconds and 3
auto-trading plans take their hourly step.

Every task is sent about twice as often as scheduled, and runs overlap.
Outcome: each trade settles exactly once at its recorded price, to the cent;
each plan opens at most one trade per hour; the reconciliation finds no
drift; the ledger invariants hold.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from tests.faults.invariants import assert_ledger_invariants, assert_trades_consistent
from tests.faults.processes import beat_start
from tests.trading.trades_support import balance, fund, make_instrument, quote, tick
from trading.models import Bar, Plan, Trade, TradeStatus
from trading.plans.services import plan_create
from trading.prices import price_recorded_mark
from trading.trades.services import trade_open, trade_request
from wallets.models import BalanceDrift

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal
TRADES_PER_USER = 10


def _open(user, inst, key):
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("100.00"), idempotency_key=key
    ).trade
    return trade_open(trade_id=trade.pk)


def test_two_beats_at_once_settle_each_trade_once(processes, tmp_path):
    inst = make_instrument("BTS-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    now = timezone.now()
    Bar.objects.create(
        instrument=inst, start=now - timedelta(minutes=2), open=D(100), high=D(100), low=D(100), close=D(100)
    )
    a, b, planner = UserFactory(), UserFactory(), UserFactory()
    for user in (a, b):
        fund(user, "2000.00")
    fund(planner, "3000.00")
    plans = [
        plan_create(
            user=planner,
            instrument=inst.symbol,
            strategy="dca",
            principal=D("500.00"),
            trade_fraction=D("0.1"),
            term_days=30,
            idempotency_key=f"plan-{n}",
        )[0]
        for n in range(3)
    ]
    manual = [_open(a, inst, f"a{n}") for n in range(TRADES_PER_USER)]
    manual += [_open(b, inst, f"b{n}") for n in range(TRADES_PER_USER)]
    # Expiries one every 2 s over the next 40 s; the recorded price at each is 105.00.
    start = timezone.now()
    for k, trade in enumerate(manual, start=1):
        Trade.objects.filter(pk=trade.pk).update(expires_at=start + timedelta(seconds=2 * k))
    tick(inst, "105.00", start)
    price_recorded_mark(symbols=[inst.symbol], through=start + timedelta(minutes=10))

    env = {"FAULT_QUEUE": processes.queue, "DJANGO_SETTINGS_MODULE": "tests.faults.beat_settings"}
    for n in range(2):
        log, schedule = tmp_path / f"beat{n}.log", tmp_path / f"beat{n}.db"
        processes.add(beat_start(log=log, schedule_file=schedule, **env))
    processes.worker()
    processes.worker()

    deadline = time.monotonic() + 150
    while Trade.objects.filter(pk__in=[t.pk for t in manual], status=TradeStatus.OPEN).exists():
        assert time.monotonic() < deadline, f"trades left unsettled\n{processes.log_tail()}"
        quote(inst, "105.00")  # the live price the plans open at stays fresh
        time.sleep(1)
    # A few more scheduled rounds over settled trades: they must change nothing.
    time.sleep(6)
    processes.stop_all()

    for n in range(2):
        log = (tmp_path / f"beat{n}.log").read_text()
        assert "Sending due task process-completed-trades" in log, f"beat {n} never sent"
    final = assert_trades_consistent()
    settled = [t for t in final if t.plan_id is None]
    assert len(settled) == 2 * TRADES_PER_USER
    outcomes = {(t.status, t.pnl, t.exit_price) for t in settled}
    assert outcomes == {(TradeStatus.SETTLED, D("5.00"), D("105.00"))}
    # 2000 + 10 x (5.00 P&L - 0.10 - 0.10 fees)
    assert balance(a) == (D("2048.00"), D("0.00"))
    assert balance(b) == (D("2048.00"), D("0.00"))
    hours = {(start + timedelta(seconds=s)).replace(minute=0, second=0, microsecond=0) for s in (0, 60)}
    for plan in Plan.objects.filter(pk__in=[p.pk for p in plans]):
        plan_trades = [t for t in final if t.plan_id == plan.pk]
        assert 1 <= len(plan_trades) <= len(hours), (plan.pk, len(plan_trades))
    assert not BalanceDrift.objects.exists()
    assert_ledger_invariants()
