"""Settlement at the instant through real processes: a Celery worker on a
queue of this test's own, the real feed (`manage.py run_market_feed`)
pricing the test's instrument, and no beat, so the minute sweep never runs.

- a trade expiring a few seconds from now is settled by the task its
  opening scheduled, and `trade.settled` reaches the user's group within
  2 s of its expiry;
- a trade whose take-profit or stop-loss a tick crosses is settled at that
  level by the task the feed sent, within 2 s of the crossing tick.

To keep the test short the expiring trade is opened in this process (its
initiation task not sent) with an opening instant 55 s in the past
(`trade_open(now=...)`), so its 60 s lifetime (the minimum) ends a few
seconds from now; this process's after-commit listener then sends the expiry
task to the worker, as a worker's would.
"""

import asyncio
import os
import threading
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from config.celery_app import app
from market.prices import price_latest
from realtime.groups import user_group
from tests.children import child_env, python, spawn, stop, wait_for
from tests.factories import InstrumentFactory, UserFactory
from tests.trading.feed_process import feed_start
from tests.trading.trades_support import assert_ledger_invariants, fund
from trading.trades.models import Trade, TradeStatus
from trading.trades.services import trade_open, trade_request

D = Decimal
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class Listener:
    """The user's group on the channel layer, heard in a thread of its own,
    each message stamped with its arrival time (what a socket would send)."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.messages: list[tuple[datetime, dict]] = []
        self.ready = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._listen()), daemon=True)

    async def _listen(self) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(self.group, channel)
        self.ready.set()
        try:
            while not self.done.is_set():
                try:
                    message = await asyncio.wait_for(layer.receive(channel), timeout=0.2)
                except TimeoutError:
                    continue
                self.messages.append((timezone.now(), message))
        finally:
            await layer.group_discard(self.group, channel)

    def settled(self, trade_id: int) -> tuple[datetime, dict] | None:
        return next(
            (
                (at, m)
                for at, m in self.messages
                if m.get("event") == "trade.settled" and m["data"]["id"] == trade_id
            ),
            None,
        )

    def __enter__(self) -> "Listener":
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(10)


@pytest.fixture
def queue():
    name = f"settle-{os.environ['CHANNEL_PREFIX']}-{uuid.uuid4().hex[:6]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = name
    yield name
    app.conf.task_default_queue = previous


@pytest.fixture
def processes(queue, tmp_path: Path):
    started = []

    def start(symbol: str) -> None:
        command = python("-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1")
        command += ["--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        command += ["-Q", queue]
        env = child_env(TEST_TASK_QUEUE=queue)
        started.append(spawn(command, name="worker", log=tmp_path / "worker.log", env=env))
        started.append(feed_start("--symbols", symbol, log=tmp_path / "feed.log", TEST_TASK_QUEUE=queue))
        wait_for(lambda: not price_latest(symbol).stale, timeout=60, what=f"the feed to price {symbol}")

    yield start
    for process in started:
        stop(process)


def test_a_trade_is_settled_within_2_s_of_its_expiry_without_the_sweep(processes, monkeypatch):
    # This process opens the trade at a chosen instant: the initiation task
    # must not reach the worker, which would open it now.
    monkeypatch.setattr("trading.trades.services.trade_enqueue", lambda *, trade: None)
    inst = InstrumentFactory(symbol="EXP-USD", feed_params={"start_price": "100.00", "volatility": "0.50"})
    user = UserFactory()
    fund(user, "1000.00")
    processes(inst.symbol)
    with Listener(user_group(user.pk)) as listener:
        queued = trade_request(
            user=user, instrument=inst.symbol, side="buy", stake=D("100.00"), idempotency_key="x", duration=60
        ).trade
        trade = trade_open(trade_id=queued.pk, now=timezone.now() - timedelta(seconds=55))
        assert trade.status == TradeStatus.OPEN
        assert trade.expires_at is not None
        arrival, message = wait_for(
            lambda: listener.settled(trade.pk), timeout=30, what="trade.settled on the user's group"
        )
    lag = (arrival - trade.expires_at).total_seconds()
    assert 0 < lag < 2.0, f"settled {lag:.3f} s after expiry"
    trade.refresh_from_db()
    assert (trade.status, trade.close_reason, trade.closed_at) == ("settled", "expiry", trade.expires_at)
    assert message["data"]["close_reason"] == "expiry"
    assert_ledger_invariants()


def test_a_level_crossed_by_a_tick_is_settled_within_2_s(processes):
    # Volatile enough that the price moves about 0.2 % a step: one of the two
    # levels, 0.5 % away, is crossed within seconds.
    inst = InstrumentFactory(symbol="LVL-USD", feed_params={"start_price": "100.00", "volatility": "40"})
    user = UserFactory()
    fund(user, "1000.00")
    processes(inst.symbol)
    with Listener(user_group(user.pk)) as listener:

        def opened() -> Trade | None:
            price = price_latest(inst.symbol).price
            assert price is not None
            queued = trade_request(
                user=user,
                instrument=inst.symbol,
                side="buy",
                stake=D("100.00"),
                idempotency_key=uuid.uuid4().hex,
                duration=3600,
                take_profit=str((price * D("1.005")).quantize(D("0.01"))),
                stop_loss=str((price * D("0.995")).quantize(D("0.01"))),
            ).trade
            trade = trade_open(trade_id=queued.pk)
            return trade if trade.status == TradeStatus.OPEN else None  # levels_crossed: try again

        trade = wait_for(opened, timeout=30, what="a trade to open between its levels", interval=0.5)
        arrival, message = wait_for(
            lambda: listener.settled(trade.pk), timeout=60, what="trade.settled after a level was crossed"
        )
    trade.refresh_from_db()
    assert trade.close_reason in ("take_profit", "stop_loss")
    assert trade.exit_price == (trade.take_profit if trade.close_reason == "take_profit" else trade.stop_loss)
    lag = (arrival - trade.closed_at).total_seconds()
    assert 0 < lag < 2.0, f"settled {lag:.3f} s after the crossing tick"
    assert message["data"]["close_reason"] == trade.close_reason
    assert_ledger_invariants()
