"""The feed loop on a simulated clock: no ticks while a market is closed,
coalesced publishing, and PostgreSQL outages that lose no bar."""

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError

from market.feed.runner import MarketFeed
from market.feed.sources import RandomWalk, SourceTick
from market.models import Bar, PriceTick
from market.prices import price_latest, price_recorded_through
from tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

SATURDAY = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
MONDAY_OPEN = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)


class Constant:
    """A source whose every tick is 1.00 with volume 1, so totals are countable."""

    def ticks(self, since: datetime, until: datetime) -> list[SourceTick]:
        return [SourceTick(at=until, price=Decimal("1.00"), volume=Decimal(1))]


def simulated_feed(pairs, start: datetime, **kwargs) -> tuple[MarketFeed, list[dict]]:
    clock = {"now": start}
    published: list[dict] = []
    feed = MarketFeed(
        instruments=pairs,
        tick_interval=0.1,
        flush_interval=1.0,
        max_rate=kwargs.pop("max_rate", 4),
        publish=lambda **kw: published.append(kw),
        now=lambda: clock["now"],
        clock=lambda: (clock["now"] - start).total_seconds(),
        sleep=lambda s: clock.update(now=clock["now"] + timedelta(milliseconds=round(s * 1000))),
    )
    return feed, published


def test_no_ticks_while_the_market_is_closed_and_ticks_once_open():
    stock = InstrumentFactory(symbol="STK", calendar="xnys", asset_class="equity")
    feed, published = simulated_feed([(stock, Constant())], SATURDAY)
    feed.run(steps=50)
    assert (feed.ticks, published) == (0, [])
    assert not Bar.objects.filter(instrument=stock).exists()
    assert price_latest("STK").price is None

    feed, published = simulated_feed([(stock, Constant())], MONDAY_OPEN - timedelta(seconds=2))
    feed.run(steps=50)  # 2 s closed, then 3 s open
    assert feed.ticks == 30
    assert all(p["at"] >= MONDAY_OPEN for p in published)
    assert Bar.objects.get(instrument=stock).volume == 30


def test_ticks_to_the_group_are_coalesced_to_the_max_rate():
    coin = InstrumentFactory(symbol="CNS-USD")
    walk = RandomWalk(
        symbol="CNS-USD", price_scale=2, start_price=Decimal(100), volatility=Decimal(1), seed=1
    )
    feed, published = simulated_feed([(coin, walk)], MONDAY_OPEN, max_rate=2)
    feed.run(steps=100)  # 10 simulated seconds; the first step has no elapsed time to walk
    assert feed.ticks == 99
    assert 10 <= len(published) <= 2 * 10 + 1
    assert feed.published == len(published)
    assert price_latest("CNS-USD", now=MONDAY_OPEN + timedelta(seconds=10)).at == MONDAY_OPEN + timedelta(
        seconds=9.9
    )


def test_postgresql_outage_loses_no_bar_and_the_feed_carries_on(caplog, monkeypatch):
    coin = InstrumentFactory(symbol="PGO-USD")
    feed, _ = simulated_feed([(coin, Constant())], MONDAY_OPEN)
    real_flush = feed.recorder.flush
    failures = {"left": 4}

    def flaky_flush(**kwargs) -> int:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("server closed the connection unexpectedly")
        return real_flush(**kwargs)

    monkeypatch.setattr(feed.recorder, "flush", flaky_flush)
    # Closing the connection is what the feed does after a failure; keep the test's transaction.
    monkeypatch.setattr("market.feed.runner.connection.close", lambda: None)
    with caplog.at_level(logging.WARNING, logger="market.feed.runner"):
        feed.run(steps=300)  # 30 simulated seconds spanning the outage

    assert failures["left"] == 0
    assert "PostgreSQL unavailable" in caplog.text and "PostgreSQL is back" in caplog.text
    # Every tick of the 30 seconds is in a bar: nothing was dropped during the outage.
    assert sum(b.volume for b in Bar.objects.filter(instrument=coin)) == 300
    assert PriceTick.objects.filter(instrument=coin).count() == 30
    assert feed.recorder.pending == 0
    assert price_recorded_through("PGO-USD") is not None


def test_a_final_flush_on_stop_writes_what_is_pending():
    coin = InstrumentFactory(symbol="FIN-USD")
    feed, _ = simulated_feed([(coin, Constant())], MONDAY_OPEN)
    feed.run(steps=5)  # less than one flush interval
    assert Bar.objects.get(instrument=coin).volume == 5
