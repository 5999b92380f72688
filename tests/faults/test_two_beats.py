"""Two beat schedulers run at once (a deploy that started a second one by
mistake) on an accelerated schedule (tests/faults/beat_settings.py: every
entry of the real schedule, the per-minute settlement every 2 s, the
five-minute sweeper every 10 s, the hourly and daily tasks every 3 to 7 s),
with two worker processes, for `FAULT_BEAT_SECONDS` (default 60 s: 30
minutes of the per-minute and five-minute schedule, and dozens of runs of
the hourly and daily tasks). Every task is sent twice per slot, once by each
beat, and the two runs overlap. Meanwhile:

- 20 open trades (users A and B) reach their expiry one after another over
  the first 60 % of the run;
- user C requests a trade every 3 s (initiations in flight throughout, some
  re-enqueued by the sweeper while their first message is still queued);
- user D requests a trade every 10 s whose enqueue is lost (the send is
  dropped, as when the broker is down at that instant): only the
  `sweep-queued-trades` entry can get it opened;
- three auto-trading plans take their hourly step; halfway through, one of
  them reaches its term and `check-investment-maturity` matures it.

Outcome: each expired trade settles exactly once at its recorded price, to
the cent; each of C's and D's trades opens exactly once (the sweeper's
duplicate messages change nothing); each plan opens at most one trade per
hour; the matured plan matures once (one `plan.matured`, its principal
released once, its trades settled once); no task run raised; the
reconciliation finds no drift; the ledger and event-stream invariants hold.
"""

import os
import time
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from market.models import Bar
from market.prices import price_recorded_mark
from realtime.models import Event
from tests.factories import UserFactory
from tests.faults.invariants import assert_ledger_invariants, assert_trades_consistent
from tests.faults.processes import beat_start, wait_for
from tests.trading.trades_support import balance, fund, make_instrument, quote, tick
from trading.plans.models import Plan, PlanStatus
from trading.plans.services import plan_create
from trading.trades.models import CloseReason, Trade, TradeStatus
from trading.trades.services import trade_open, trade_request
from wallets.models import BalanceDrift, LedgerTransaction

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal
TRADES_PER_USER = 10
BEAT_SECONDS = int(os.environ.get("FAULT_BEAT_SECONDS", "60"))
IN_FLIGHT_EVERY, LOST_EVERY = 3, 10


def _open(user, inst, key):
    trade = trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("100.00"), idempotency_key=key
    ).trade
    return trade_open(trade_id=trade.pk)


def _request(user, inst, key) -> int:
    return trade_request(
        user=user, instrument=inst.symbol, side="buy", stake=D("50.00"), idempotency_key=key
    ).trade.pk


def _sent(log, entry: str) -> int:
    return log.read_text().count(f"Sending due task {entry} ")


def test_two_beats_at_once_run_each_slot_to_one_effect(processes, tmp_path):
    inst = make_instrument("BTS-USD", fee_bps=10, price_scale=2)
    quote(inst, "100.00")
    now = timezone.now()
    Bar.objects.create(
        instrument=inst, start=now - timedelta(minutes=2), open=D(100), high=D(100), low=D(100), close=D(100)
    )
    a, b, c, d, planner = (UserFactory() for _ in range(5))
    for user in (a, b, c, d):
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
    # Expiries spread over the first 60 % of the run; the recorded price at each is 105.00.
    start = timezone.now()
    spacing = 0.6 * BEAT_SECONDS / len(manual)
    for k, trade in enumerate(manual, start=1):
        Trade.objects.filter(pk=trade.pk).update(expires_at=start + timedelta(seconds=spacing * k))
    tick(inst, "105.00", start)
    price_recorded_mark(symbols=[inst.symbol], through=start + timedelta(seconds=BEAT_SECONDS + 600))

    env = {"FAULT_QUEUE": processes.queue, "DJANGO_SETTINGS_MODULE": "tests.faults.beat_settings"}
    beat_logs = [tmp_path / f"beat{n}.log" for n in range(2)]
    for n, log in enumerate(beat_logs):
        processes.add(beat_start(log=log, schedule_file=tmp_path / f"beat{n}.db", **env))
    for _ in range(2):
        processes.worker(TRADE_SWEEP_AFTER_SECONDS="3", **env)

    in_flight: list[int] = []
    lost: list[int] = []
    matured, term_ended = plans[0], False
    began = time.monotonic()
    while (elapsed := time.monotonic() - began) < BEAT_SECONDS:
        quote(inst, "105.00")  # the live price the requests and plans open at stays fresh
        if elapsed >= IN_FLIGHT_EVERY * len(in_flight):
            in_flight.append(_request(c, inst, f"c{len(in_flight)}"))
        if elapsed >= LOST_EVERY * len(lost) and elapsed < 0.8 * BEAT_SECONDS:
            with mock.patch("trading.trades.services.trade_enqueue"):  # the send is lost
                lost.append(_request(d, inst, f"d{len(lost)}"))
        if elapsed >= BEAT_SECONDS / 2 and not term_ended:
            Plan.objects.filter(pk=matured.pk).update(ends_at=timezone.now())  # its term ends now
            term_ended = True
        time.sleep(1)

    def settled_down() -> bool:
        quote(inst, "105.00")
        return (
            not Trade.objects.filter(pk__in=[t.pk for t in manual], status=TradeStatus.OPEN).exists()
            and not Trade.objects.filter(status=TradeStatus.QUEUED).exists()
            and Plan.objects.get(pk=matured.pk).status == PlanStatus.MATURED
        )

    wait_for(settled_down, timeout=120, what=f"settlement, openings and maturity\n{processes.log_tail()}")
    # Two more scheduled rounds of every entry by each beat, over settled state: they must change nothing.
    entries = list(settings.CELERY_BEAT_SCHEDULE)
    sent = {(log, e): _sent(log, e) for log in beat_logs for e in entries}
    wait_for(
        lambda: all(_sent(log, e) >= n + 2 for (log, e), n in sent.items()),
        timeout=60,
        what="two more rounds of every entry from each beat",
    )
    processes.stop_all()
    ended = timezone.now()

    for log in beat_logs:
        for entry in entries:
            # Both beats sent every entry, again and again: each slot was sent twice.
            assert _sent(log, entry) >= 3, (log.name, entry)
    worker_log = (tmp_path / "workers.log").read_text()
    assert "raised unexpected" not in worker_log, processes.log_tail(80)
    assert "Task trading.tasks.sweep_queued_trades" in worker_log

    final = assert_trades_consistent()
    expired = [t for t in final if t.pk in {m.pk for m in manual}]
    outcomes = {(t.status, t.pnl, t.exit_price, t.close_reason) for t in expired}
    assert outcomes == {(TradeStatus.SETTLED, D("5.00"), D("105.00"), CloseReason.EXPIRY)}
    # 2000 + 10 x (5.00 P&L - 0.10 - 0.10 fees)
    assert balance(a) == (D("2048.00"), D("0.00"))
    assert balance(b) == (D("2048.00"), D("0.00"))
    for user, ids in ((c, in_flight), (d, lost)):
        trades = [t for t in final if t.user_id == user.pk]
        assert sorted(t.pk for t in trades) == sorted(ids)
        assert {(t.status, t.entry_price) for t in trades} == {(TradeStatus.OPEN, D("105.00"))}
        # each 50.00 stake + 0.05 fee
        assert balance(user) == (D("2000.00") - len(ids) * D("50.05"), len(ids) * D("50.00"))
    assert len(lost) >= 3

    first_hour, last_hour = (t.replace(minute=0, second=0, microsecond=0) for t in (start, ended))
    hours = (last_hour - first_hour) // timedelta(hours=1) + 1  # the hours the run touched
    for plan in Plan.objects.filter(pk__in=[p.pk for p in plans]):
        plan_trades = [t for t in final if t.plan_id == plan.pk]
        assert 1 <= len(plan_trades) <= hours, (plan.pk, len(plan_trades))
        releases = LedgerTransaction.objects.filter(reference=f"plan:{plan.pk}", kind="release").count()
        events = Event.objects.filter(event="plan.matured", data__id=plan.pk).count()
        if plan.pk == matured.pk:
            assert plan.status == PlanStatus.MATURED
            assert (releases, events) == (1, 1)
            assert {(t.status, t.close_reason) for t in plan_trades} == {
                (TradeStatus.SETTLED, CloseReason.PLAN_MATURITY)
            }
        else:
            assert plan.status == PlanStatus.ACTIVE
            assert (releases, events) == (0, 0)
            assert {t.status for t in plan_trades} == {TradeStatus.OPEN}
    assert not BalanceDrift.objects.exists()
    assert_ledger_invariants()
