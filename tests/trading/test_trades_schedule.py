"""Settlement at the instant (trading/trades/schedule.py), in process: the
expiry task is sent after the open commits with its ETA, once per expiry
second; levels go into the price watches; the expiry pass and the level
task settle what they should and nothing else; "Close now" after expiry is
refused. The same through a real worker and feed: tests/integration/
test_settle_at_expiry.py."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from celery import _state as celery_state
from celery.exceptions import Retry
from django.db import transaction
from django.utils import timezone

from config.celery_app import app
from market.watches import Crossing, watch_members
from realtime.models import Event
from tests.trading.trades_support import assert_ledger_invariants, balance, fund, make_instrument, quote, tick
from trading.tasks import (
    process_completed_trades,
    schedule_expiry_settlements,
    settle_crossed_levels,
    settle_expired_trades,
)
from trading.trades.models import Trade, TradeStatus
from trading.trades.schedule import (
    EXPIRY_TASK,
    LEVELS_TASK,
    expiry_eta,
    expiry_schedule,
    levels_crossed_enqueue,
    trade_triggers,
)
from trading.trades.services import trade_open, trade_request
from trading.trades.settlement import trades_settle_expired, trades_settle_levels

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def inst():
    return make_instrument("SCH-USD", fee_bps=10, price_scale=2, max_stake=D("5000.00"))


@pytest.fixture
def sent(monkeypatch):
    """Every task sent, with whether the result subscription was skipped."""
    calls: list[dict] = []

    def send_task(name, args=None, kwargs=None, **options):
        calls.append({"name": name, "args": args, "quiet": celery_state.task_join_will_block(), **options})

    monkeypatch.setattr(app, "send_task", send_task)
    return calls


def request(user, inst, key, *, duration=None, side="buy", stake="1000.00", **kw):
    return trade_request(
        user=user,
        instrument=inst.symbol,
        side=side,
        stake=D(stake),
        idempotency_key=key,
        duration=duration,
        **kw,
    ).trade


def expiries(sent):
    return [c for c in sent if c["name"] == EXPIRY_TASK]


# --- scheduling ----------------------------------------------------------------


def test_the_expiry_task_is_sent_after_the_open_commits_with_its_eta(
    user, inst, sent, django_capture_on_commit_callbacks
):
    fund(user, "5000.00")
    quote(inst, "100.00")
    queued = request(user, inst, "a", duration=120)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        trade = trade_open(trade_id=queued.pk)
        assert expiries(sent) == []  # nothing before the commit
    for callback in callbacks:
        callback()
    (call,) = expiries(sent)
    second = trade.expires_at.replace(microsecond=0)
    assert call["args"] == [second.isoformat()]
    assert call["eta"] == expiry_eta(second) == second + timedelta(seconds=1.2)
    assert call["quiet"] is True  # no result subscription for the sender


def test_a_rolled_back_open_sends_nothing(user, inst, sent, django_capture_on_commit_callbacks):
    fund(user, "5000.00")
    quote(inst, "100.00")
    queued = request(user, inst, "a", duration=120)
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                trade_open(trade_id=queued.pk)
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert expiries(sent) == []


def test_one_task_per_expiry_second(user, inst, sent, django_capture_on_commit_callbacks):
    now = timezone.now().replace(microsecond=100_000)
    assert expiry_schedule(expires_at=now + timedelta(seconds=60), now=now) is True
    assert expiry_schedule(expires_at=now + timedelta(seconds=60, milliseconds=800), now=now) is False
    assert expiry_schedule(expires_at=now + timedelta(seconds=61), now=now) is True
    assert [c["args"][0] for c in expiries(sent)] == [
        (now + timedelta(seconds=60)).replace(microsecond=0).isoformat(),
        (now + timedelta(seconds=61)).replace(microsecond=0).isoformat(),
    ]


def test_far_expiries_are_sent_by_the_minute_scheduler_once_near(
    user, inst, sent, settings, django_capture_on_commit_callbacks
):
    settings.SETTLE_SCHEDULE_HORIZON_SECONDS = 300
    fund(user, "5000.00")
    quote(inst, "100.00")
    queued = request(user, inst, "far", duration=3600)
    with django_capture_on_commit_callbacks(execute=True):
        trade = trade_open(trade_id=queued.pk)
    # Opening did not send it (an hour ahead); the scheduler does, once it is near.
    assert expiries(sent) == []
    assert schedule_expiry_settlements() == {"scheduled": 0}
    Trade.objects.filter(pk=trade.pk).update(expires_at=timezone.now() + timedelta(seconds=90))
    assert schedule_expiry_settlements() == {"scheduled": 1}
    assert schedule_expiry_settlements() == {"scheduled": 0}  # already sent
    (call,) = expiries(sent)
    assert call["quiet"] is True


def test_a_broker_outage_at_open_is_logged_and_left_to_the_sweep(user, inst, monkeypatch, caplog):
    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(app, "send_task", refuse)
    now = timezone.now()
    assert expiry_schedule(expires_at=now + timedelta(seconds=30), now=now) is False
    assert "minute sweep will settle" in caplog.text
    # The second's key was given back: the scheduler can send it later.
    calls = []
    monkeypatch.setattr(app, "send_task", lambda name, **kw: calls.append(name))
    assert expiry_schedule(expires_at=now + timedelta(seconds=30), now=now) is True
    assert calls == [EXPIRY_TASK]


# --- the expiry task -------------------------------------------------------------


def open_trade(user, inst, key, **kw):
    trade = trade_open(trade_id=request(user, inst, key, **kw).pk)
    assert trade.status == TradeStatus.OPEN
    return trade


def expire_at(trade, at):
    Trade.objects.filter(pk=trade.pk).update(expires_at=at)
    trade.refresh_from_db()


def test_the_expiry_task_settles_every_due_trade_in_one_pass(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    second = timezone.now().replace(microsecond=0) - timedelta(seconds=2)
    trades = [open_trade(user, inst, f"t{i}", stake="100.00") for i in range(4)]
    for i, trade in enumerate(trades[:3]):
        expire_at(trade, second + timedelta(milliseconds=200 * i))
    tick(inst, "110.00", second - timedelta(milliseconds=500))
    tick(inst, "120.00", second + timedelta(seconds=1, milliseconds=500))  # after: not used
    assert settle_expired_trades(second.isoformat()) == {"settled": 3, "waiting": 0, "errors": 0}
    for trade in trades[:3]:
        trade.refresh_from_db()
        assert (trade.status, trade.exit_price, trade.close_reason) == ("settled", D("110.00"), "expiry")
        assert trade.closed_at == trade.expires_at
    assert Trade.objects.get(pk=trades[3].pk).status == TradeStatus.OPEN  # not due
    assert Event.objects.filter(user=user, event="trade.settled").count() == 3
    # The minute sweep finds nothing left.
    assert process_completed_trades() == {"settled": 0, "waiting": 0, "errors": 0}
    assert_ledger_invariants()


def test_the_expiry_task_tries_again_while_the_price_is_not_recorded(user, inst, settings):
    settings.SETTLE_AT_EXPIRY_RETRY_SECONDS = 10
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, "wait")
    second = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    expire_at(trade, second)
    with pytest.raises(Retry):  # the feed has not recorded through expiry yet
        settle_expired_trades(second.isoformat())
    tick(inst, "101.00", second)
    assert settle_expired_trades(second.isoformat())["settled"] == 1


def test_the_expiry_task_gives_up_to_the_sweep_after_its_window(user, inst, settings, caplog):
    settings.SETTLE_AT_EXPIRY_RETRY_SECONDS = 0
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, "late")
    second = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    expire_at(trade, second)
    assert settle_expired_trades(second.isoformat())["waiting"] == 1
    assert "left to the minute sweep" in caplog.text


def test_a_level_reached_before_expiry_wins_over_the_expiry_price(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, "lvl", take_profit="105.00", stop_loss="95.00")
    expires = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    expire_at(trade, expires)
    crossed = expires - timedelta(seconds=1)
    Trade.objects.filter(pk=trade.pk).update(opened_at=crossed - timedelta(seconds=5))
    tick(inst, "94.00", crossed)  # stop-loss before expiry
    tick(inst, "101.00", expires)
    report = trades_settle_expired()
    assert report.settled == 1
    trade.refresh_from_db()
    assert (trade.exit_price, trade.close_reason, trade.closed_at) == (D("95.00"), "stop_loss", crossed)


def test_levels_the_path_never_came_near_leave_the_expiry_price(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    short = open_trade(user, inst, "short", side="sell", take_profit="80.00", stop_loss="120.00")
    long = open_trade(user, inst, "long", side="buy", take_profit="120.00", stop_loss="80.00")
    expires = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
    for trade in (short, long):
        expire_at(trade, expires)
    Trade.objects.filter(pk__in=[short.pk, long.pk]).update(opened_at=expires - timedelta(seconds=10))
    for i, price in enumerate(["99.00", "101.00", "100.50"]):
        tick(inst, price, expires - timedelta(seconds=2 - i))
    assert trades_settle_expired().settled == 2
    for trade in (short, long):
        trade.refresh_from_db()
        assert (trade.exit_price, trade.close_reason) == (D("100.50"), "expiry")


def test_a_trade_settled_by_the_sweep_is_skipped(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, "once")
    expires = timezone.now() - timedelta(seconds=5)
    expire_at(trade, expires)
    tick(inst, "102.00", expires)
    assert process_completed_trades()["settled"] == 1
    assert trades_settle_expired().settled == 0
    assert Event.objects.filter(user=user, event="trade.settled").count() == 1
    assert balance(user)[1] == D("0.00")


# --- levels as ticks arrive ----------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "tp", "sl", "liq", "expected"),
    [
        ("buy", "110", "90", "0", (D("90"), D("110"))),
        ("buy", None, "90", "1", (D("90"), None)),
        ("buy", None, None, "0", (None, None)),
        ("sell", "90", "110", "200", (D("90"), D("110"))),
        ("sell", None, None, "200", (None, D("200"))),
        ("sell", "90", "250", "200", (D("90"), D("200"))),
    ],
)
def test_triggers_follow_the_side(side, tp, sl, liq, expected):
    def d(x):
        return None if x is None else D(x)

    assert trade_triggers(side=side, take_profit=d(tp), stop_loss=d(sl), liquidation=d(liq)) == expected


def test_an_opened_trade_is_watched_and_a_settled_one_forgotten(
    user, inst, sent, django_capture_on_commit_callbacks
):
    fund(user, "5000.00")
    quote(inst, "100.00")
    queued = request(user, inst, "w", take_profit="110.00", stop_loss="95.00")
    with django_capture_on_commit_callbacks(execute=True):
        trade = trade_open(trade_id=queued.pk)
    assert watch_members(symbol=inst.symbol) == {str(trade.pk): {"below": D("95"), "above": D("110")}}
    expires = timezone.now() - timedelta(seconds=1)
    expire_at(trade, expires)
    tick(inst, "100.00", expires)
    with django_capture_on_commit_callbacks(execute=True):
        assert trades_settle_expired().settled == 1
    assert watch_members(symbol=inst.symbol) == {}


def test_the_level_task_settles_at_the_level_at_the_crossing_tick(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    hit = open_trade(user, inst, "hit", side="buy", take_profit="104.00", stake="100.00")
    short = open_trade(user, inst, "short", side="sell", stop_loss="103.50", stake="100.00")
    missed = open_trade(user, inst, "missed", side="buy", take_profit="110.00", stake="100.00")
    now = timezone.now()
    ticks = [[(now - timedelta(milliseconds=300)).isoformat(), "103.00"], [now.isoformat(), "104.20"]]
    result = settle_crossed_levels(inst.symbol, ticks, [str(hit.pk), str(short.pk), str(missed.pk)])
    assert result["settled"] == 2
    hit.refresh_from_db()
    short.refresh_from_db()
    assert (hit.exit_price, hit.close_reason, hit.closed_at) == (D("104.00"), "take_profit", now)
    assert (short.exit_price, short.close_reason, short.closed_at) == (D("103.50"), "stop_loss", now)
    assert Trade.objects.get(pk=missed.pk).status == TradeStatus.OPEN
    assert_ledger_invariants()


def test_a_crossing_after_expiry_is_not_a_level_close(user, inst):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, "late", take_profit="104.00")
    expires = timezone.now() - timedelta(seconds=2)
    expire_at(trade, expires)
    report = trades_settle_levels(
        symbol=inst.symbol, points=[(expires + timedelta(seconds=1), D("105.00"))], trade_ids=[trade.pk]
    )
    assert report.settled == 0
    assert Trade.objects.get(pk=trade.pk).status == TradeStatus.OPEN


def test_the_level_task_prunes_watches_that_can_no_longer_fire(
    user, inst, django_capture_on_commit_callbacks, sent
):
    fund(user, "5000.00")
    quote(inst, "100.00")
    with django_capture_on_commit_callbacks(execute=True):
        expired = open_trade(user, inst, "exp", take_profit="104.00", stake="100.00")
        live = open_trade(user, inst, "live", take_profit="104.00", stake="100.00")
    expire_at(expired, timezone.now() - timedelta(seconds=5))
    # A tick after expired's expiry: it is not a level close, and its watch can never fire again.
    at = timezone.now()
    result = settle_crossed_levels(inst.symbol, [[at.isoformat(), "104.00"]], [str(expired.pk), str(live.pk)])
    assert (result["settled"], result["pruned"]) == (1, 2)
    assert watch_members(symbol=inst.symbol) == {}
    assert Trade.objects.get(pk=expired.pk).status == TradeStatus.OPEN  # the expiry pass has it


def test_the_feeds_listener_sends_the_level_task_quietly(sent):
    at = datetime(2026, 12, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    crossing = Crossing(symbol="SCH-USD", ticks=((at, D("104.20")),), members=frozenset({"7", "3"}))
    levels_crossed_enqueue(crossing)
    (call,) = sent
    assert call["name"] == LEVELS_TASK
    assert call["args"] == ["SCH-USD", [[at.isoformat(), "104.20"]], ["3", "7"]]
    assert call["quiet"] is True


# --- "Close now" after expiry -----------------------------------------------------


def test_close_now_after_expiry_is_refused_with_a_clear_message(user, inst, auth_client):
    fund(user, "5000.00")
    quote(inst, "100.00")
    trade = open_trade(user, inst, "close")
    expires = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=3)
    expire_at(trade, expires)
    response = auth_client.post(f"/api/v1/trades/{trade.pk}/close/", HTTP_IDEMPOTENCY_KEY="c1")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "expired"
    assert body["detail"] == (
        f"This trade expired at {expires:%H:%M:%S} UTC and is being settled at the expiry price."
    )
    assert Trade.objects.get(pk=trade.pk).status == TradeStatus.OPEN
