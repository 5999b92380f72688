"""The real feed process against real PostgreSQL and Redis: latest price to
Redis, bars and ticks to PostgreSQL, and ticks on `ticker.BTC-USD` through the
real channels-redis layer, at no more than the configured rate."""

import asyncio
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from channels.layers import get_channel_layer

from market.feed.rollup import bars_rollup
from market.models import Bar, HourBar, PriceTick
from market.prices import price_at, price_latest
from tests.factories import InstrumentFactory
from tests.trading.feed_process import feed_start, stop

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SECONDS = 4
MAX_RATE = 2
TOLERANCE = timedelta(milliseconds=5)


class Subscriber:
    """Listens on a group through the settings' channel layer in its own thread and loop."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.messages: list[dict] = []
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
                    self.messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.2))
                except TimeoutError:
                    continue
        finally:
            await layer.group_discard(self.group, channel)
            await layer.flush() if hasattr(layer, "flush") else None

    def __enter__(self) -> "Subscriber":
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join(10)


def test_feed_records_prices_and_publishes_coalesced_ticks(tmp_path):
    # Seeded by migration, but another suite's transactional test may have flushed it.
    InstrumentFactory(symbol="BTC-USD")
    log = tmp_path / "feed.log"
    with Subscriber("ticker.BTC-USD") as subscriber:
        feed = feed_start(
            "--symbols",
            "BTC-USD",
            "--seconds",
            str(SECONDS),
            "--tick-interval",
            "0.05",
            "--max-rate",
            str(MAX_RATE),
            log=log,
        )
        try:
            assert feed.wait(timeout=90) == 0, log.read_text()
        finally:
            stop(feed)
        # The feed waited for each send to be accepted by Redis; give the
        # subscriber's loop a moment to drain what is already delivered.
        threading.Event().wait(0.5)
    ticks = subscriber.messages
    output = log.read_text()

    # At 20 steps per second the feed had 80 prices; at most MAX_RATE per
    # second (+1 for the first) may reach the group, and some did.
    assert 2 <= len(ticks) <= MAX_RATE * SECONDS + 1, output
    assert {t["type"] for t in ticks} == {"tick"}
    assert {t["symbol"] for t in ticks} == {"BTC-USD"}
    times = [datetime.fromisoformat(t["time"]) for t in ticks]
    assert times == sorted(times)
    # The rate holds between any two ticks, not only on average: each tick's
    # time is its step's clock reading, taken beside the monotonic reading
    # the coalescer spaces publications by (TOLERANCE covers the two clocks).
    spacing = [b - a for a, b in pairwise(times)]
    assert min(spacing) >= timedelta(seconds=1 / MAX_RATE) - TOLERANCE, spacing
    assert all(Decimal(t["price"]).as_tuple().exponent == -2 for t in ticks)
    # Every published price lies inside the recorded bar of its minute.
    for tick, at in zip(ticks, times, strict=True):
        bar = Bar.objects.get(instrument__symbol="BTC-USD", start=at.replace(second=0, microsecond=0))
        assert bar.low <= Decimal(tick["price"]) <= bar.high

    # The latest price went to Redis and equals what PostgreSQL recorded for that instant.
    quote = price_latest("BTC-USD")
    assert quote.price is not None and quote.at is not None
    assert quote.at >= times[-1]
    assert price_at("BTC-USD", quote.at) == quote.price

    # Bars and 1-second ticks reached PostgreSQL, for BTC-USD only.
    bars = list(Bar.objects.filter(instrument__symbol="BTC-USD").order_by("start"))
    assert bars, output
    assert bars[-1].close == quote.price
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)
    assert PriceTick.objects.filter(instrument__symbol="BTC-USD").count() >= SECONDS
    assert not Bar.objects.exclude(instrument__symbol="BTC-USD").exists()
    # The hour rollups the feed wrote equal a rebuild from its minute bars.
    written = list(HourBar.objects.filter(instrument__symbol="BTC-USD").order_by("start").values_list())
    assert written
    HourBar.objects.all().delete()
    bars_rollup(
        instrument_id=bars[0].instrument_id, start=bars[0].start, end=bars[-1].start + timedelta(minutes=1)
    )
    rebuilt = list(HourBar.objects.filter(instrument__symbol="BTC-USD").order_by("start").values_list())
    assert [row[1:] for row in rebuilt] == [row[1:] for row in written]
    assert "feed stopped after" in output
