"""Auto-trading plans: principal reserved, strategy decisions on fixed bars,
maturity and early cancel returning principal + P&L - fees to the cent."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import IdempotencyMismatch, NotFound
from market.models import Bar
from realtime.models import Event
from tests.trading.trades_support import assert_ledger_invariants, balance, fund, make_instrument, quote
from trading.plans.models import Plan, PlanStatus
from trading.plans.selectors import plan_closes
from trading.plans.services import plan_cancel, plan_create, plan_mature, plan_run
from trading.tasks import auto_initiate_daily_trades, check_investment_maturity
from trading.trades.errors import TradeInvalid, TradeNotAllowed
from trading.trades.models import Trade, TradeStatus
from wallets.errors import InsufficientFunds

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("PLN-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


def create(user, inst, *, strategy="dca", principal="1000.00", fraction="0.1000", key="p1", term=30):
    plan, _ = plan_create(
        user=user,
        instrument=inst.symbol,
        strategy=strategy,
        principal=D(principal),
        trade_fraction=D(fraction),
        term_days=term,
        idempotency_key=key,
    )
    return plan


def bars(inst, closes, *, end):
    """One 1-minute bar per close, the last starting one minute before `end`."""
    start = end - timedelta(minutes=len(closes))
    Bar.objects.bulk_create(
        Bar(instrument=inst, start=start + timedelta(minutes=i), open=c, high=c, low=c, close=c)
        for i, c in enumerate(D(x) for x in closes)
    )


def test_create_reserves_the_principal_and_publishes(user, inst):
    fund(user, "2000.00")
    plan = create(user, inst)
    assert plan.status == PlanStatus.ACTIVE
    assert plan.reserve == D("1000.00")
    assert plan.ends_at == plan.started_at + timedelta(days=30)
    assert balance(user) == (D("1000.00"), D("1000.00"))
    assert Event.objects.filter(user=user, event="plan.started").count() == 1
    # Same key, same plan; other parameters, 422.
    assert create(user, inst).pk == plan.pk
    with pytest.raises(IdempotencyMismatch):
        create(user, inst, principal="999.00")


def test_create_without_the_money_writes_nothing(user, inst):
    fund(user, "999.99")
    with pytest.raises(InsufficientFunds) as exc:
        create(user, inst)
    assert exc.value.field == "principal"
    assert Plan.objects.count() == 0
    assert balance(user) == (D("999.99"), D("0.00"))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"strategy": "martingale"}, "strategy"),
        ({"fraction": "0"}, "trade_fraction"),
        ({"fraction": "1.0001"}, "trade_fraction"),
        ({"fraction": "0.00001"}, "trade_fraction"),
        ({"term": 0}, "term_days"),
        ({"term": 366}, "term_days"),
    ],
)
def test_bad_plan_input_names_the_field(user, inst, kwargs, field):
    fund(user, "2000.00")
    with pytest.raises(TradeInvalid) as exc:
        create(user, inst, **kwargs)
    assert exc.value.field == field
    assert Plan.objects.count() == 0


def test_strategy_decisions_on_fixed_bars_drive_the_hourly_trade(user, inst):
    fund(user, "2000.00")
    now = timezone.now()
    momentum = create(user, inst, strategy="momentum", key="m")
    reversion = create(user, inst, strategy="mean_reversion", key="r")
    # 60 flat closes then a 1 % jump: momentum buys, mean reversion sells.
    bars(inst, ["100.00"] * 60 + ["101.00"], end=now)
    closes = plan_closes(instrument_id=inst.pk, now=now)
    assert len(closes) == 61
    quote(inst, "101.00")
    t1 = plan_run(plan_id=momentum.pk, closes=closes, now=now)
    t2 = plan_run(plan_id=reversion.pk, closes=closes, now=now)
    assert (t1.side, t1.status, t1.stake) == ("buy", TradeStatus.OPEN, D("100.00"))
    assert (t2.side, t2.status) == ("sell", TradeStatus.OPEN)
    # At most one trade per plan per hour, however often the task runs.
    assert plan_run(plan_id=momentum.pk, closes=closes, now=now) is None
    assert Trade.objects.filter(plan=momentum).count() == 1
    momentum.refresh_from_db()
    # The stake and the opening fee left the plan's reserve; the user's
    # available balance did not move.
    assert momentum.reserve == D("1000.00") - D("100.00") - D("0.10")
    assert balance(user) == (D("0.00"), D("2000.00") - D("0.20"))
    assert_ledger_invariants()


def test_no_signal_no_trade(user, inst):
    fund(user, "1000.00")
    plan = create(user, inst, strategy="momentum")
    quote(inst, "100.00")
    assert plan_run(plan_id=plan.pk, closes=[D("100.00")] * 61, now=timezone.now()) is None
    plan.refresh_from_db()
    assert plan.last_signal == ""
    assert plan.last_run_at is not None


def test_maturity_returns_principal_plus_pnl_minus_fees_to_the_cent(user, inst):
    fund(user, "1000.00")
    plan = create(user, inst, strategy="dca", fraction="0.2500")
    quote(inst, "100.00")
    now = timezone.now()
    trade = plan_run(plan_id=plan.pk, closes=[D("100.00")], now=now)
    assert (trade.side, trade.stake, trade.quantity) == ("buy", D("250.00"), D("2.50000000"))
    quote(inst, "112.34")
    Plan.objects.filter(pk=plan.pk).update(ends_at=now - timedelta(seconds=1))
    result = check_investment_maturity()
    assert result == {"matured": 1, "errors": 0}
    plan.refresh_from_db()
    trade.refresh_from_db()
    # P&L 2.5 x 12.34 = 30.85; fees 0.25 on open and 0.25 on close.
    assert (trade.status, trade.close_reason, trade.pnl) == (TradeStatus.SETTLED, "plan_maturity", D("30.85"))
    assert plan.status == PlanStatus.MATURED
    assert (plan.realised_pnl, plan.fees) == (D("30.85"), D("0.50"))
    assert plan.returned == D("1000.00") + D("30.85") - D("0.50")
    assert plan.reserve == D("0.00")
    assert balance(user) == (D("1030.35"), D("0.00"))
    assert Event.objects.filter(user=user, event="plan.matured").count() == 1
    # A second run matures nothing twice.
    assert check_investment_maturity() == {"matured": 0, "errors": 0}
    assert_ledger_invariants()


def test_cancel_early_by_the_owner_only(user, other_user, inst):
    fund(user, "1000.00")
    plan = create(user, inst, strategy="dca", fraction="0.5000")
    quote(inst, "100.00")
    plan_run(plan_id=plan.pk, closes=[D("100.00")], now=timezone.now())
    quote(inst, "90.00")
    with pytest.raises(NotFound):
        plan_cancel(user=other_user, plan_id=plan.pk)
    cancelled = plan_cancel(user=user, plan_id=plan.pk)
    # 5 units bought at 100 sold at 90: -50.00; fees 0.50 + 0.50.
    assert cancelled.status == PlanStatus.CANCELLED
    assert cancelled.returned == D("949.00")
    assert balance(user) == (D("949.00"), D("0.00"))
    with pytest.raises(TradeNotAllowed):
        plan_cancel(user=user, plan_id=plan.pk)
    assert plan_mature(plan_id=plan.pk).status == PlanStatus.CANCELLED
    assert_ledger_invariants()


def test_hourly_task_runs_every_active_plan(user, inst):
    fund(user, "2000.00")
    create(user, inst, strategy="dca", key="a")
    create(user, inst, strategy="momentum", key="b")
    now = timezone.now()
    bars(inst, ["100.00"] * 61, end=now)
    quote(inst, "100.00")
    assert auto_initiate_daily_trades() == {"opened": 1, "skipped": 1, "errors": 0}
    assert Trade.objects.filter(source="plan", status=TradeStatus.OPEN).count() == 1
