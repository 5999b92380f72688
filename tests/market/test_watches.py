"""Price watches (market/watches.py) in Redis, and the feed telling their
listeners when a step's ticks cross one, throttled per symbol; the feed
records each second as soon as it is over."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market import watches
from market.feed.runner import MarketFeed
from market.feed.sources import SourceTick
from market.prices import price_at, price_recorded_through
from market.watches import watch_members, watch_remove, watch_set, watches_crossed
from tests.factories import InstrumentFactory

D = Decimal
START = datetime(2026, 11, 30, 14, 30, tzinfo=UTC)


def test_a_watch_is_crossed_at_or_beyond_its_level():
    watch_set(symbol="W-USD", member="1", below=D("95.00"), above=D("110.00"))
    watch_set(symbol="W-USD", member="2", above=D("105.50"))
    assert watches_crossed({"W-USD": (D("96.00"), D("105.49"))}) == {}
    assert watches_crossed({"W-USD": (D("95.00"), D("100.00"))}) == {"W-USD": {"1"}}
    assert watches_crossed({"W-USD": (D("99.00"), D("105.50"))}) == {"W-USD": {"2"}}
    both = watches_crossed({"W-USD": (D("90.00"), D("120.00")), "X-USD": (D(1), D(2))})
    assert both == {"W-USD": {"1", "2"}}
    watch_set(symbol="W-USD", member="1", below=None, above=D("111.00"))  # levels replaced
    assert watch_members(symbol="W-USD") == {"1": {"above": D("111")}, "2": {"above": D("105.5")}}
    watch_remove(symbol="W-USD", members=["1", "2", "unknown"])
    assert watch_members(symbol="W-USD") == {}


class Scripted:
    """A source that plays the prices of a script, one per step."""

    def __init__(self, prices: list[str]) -> None:
        self.prices = [D(p) for p in prices]

    def ticks(self, since: datetime, until: datetime) -> list[SourceTick]:
        if not self.prices:
            return []
        return [SourceTick(at=until, price=self.prices.pop(0), volume=D(1))]


def simulated(pairs, *, start=START):
    clock = {"now": start}
    return MarketFeed(
        instruments=pairs,
        tick_interval=0.1,
        flush_interval=5.0,
        max_rate=4,
        publish=lambda **kw: None,
        now=lambda: clock["now"],
        clock=lambda: (clock["now"] - start).total_seconds(),
        sleep=lambda s: clock.update(now=clock["now"] + timedelta(milliseconds=round(s * 1000))),
    )


@pytest.fixture
def heard(monkeypatch):
    got: list[watches.Crossing] = []
    monkeypatch.setattr(watches, "_listeners", [got.append])
    return got


@pytest.mark.django_db
def test_the_feed_tells_listeners_of_crossings_at_most_every_interval(heard, settings):
    settings.PRICE_WATCH_INTERVAL = 0.25
    coin = InstrumentFactory(symbol="WCH-USD")
    watch_set(symbol="WCH-USD", member="41", below=D("95.00"))
    # 100 → 94 at step 3, then stays beyond for 5 steps, then back above.
    script = ["100.00", "99.00", "94.00", "93.00", "94.50", "94.00", "93.50", "96.00", "97.00"]
    feed = simulated([(coin, Scripted(script))])
    feed.run(steps=len(script) + 5)
    assert heard, "no crossing reported"
    assert all(c.symbol == "WCH-USD" and c.members == {"41"} for c in heard)
    first = heard[0]
    assert [p for _, p in first.ticks] == [D("94.00")]
    # Throttled: the crossings of 5 steps (0.5 s) went out in at most 3 notices, none lost.
    assert len(heard) <= 3
    reported = sorted(p for c in heard for _, p in c.ticks)
    assert reported == sorted(D(p) for p in ["94.00", "93.00", "94.50", "94.00", "93.50"])


@pytest.mark.django_db
def test_no_listener_no_watch_lookup(monkeypatch):
    monkeypatch.setattr(watches, "_listeners", [])
    called = []
    monkeypatch.setattr("market.feed.runner.watches_crossed", lambda ranges: called.append(ranges) or {})
    coin = InstrumentFactory(symbol="WNL-USD")
    simulated([(coin, Scripted(["1.00", "1.01"]))]).run(steps=3)
    assert called == []


@pytest.mark.django_db
def test_each_second_is_recorded_at_the_first_step_after_it():
    coin = InstrumentFactory(symbol="WSE-USD")
    clock = {"now": START + timedelta(milliseconds=500)}
    feed = MarketFeed(
        instruments=[(coin, Scripted([f"{100 + i}.00" for i in range(20)]))],
        tick_interval=0.1,
        flush_interval=5.0,
        max_rate=4,
        publish=lambda **kw: None,
        now=lambda: clock["now"],
        clock=lambda: (clock["now"] - START).total_seconds(),
    )
    for _ in range(5):  # 14:30:00.5 to 14:30:00.9
        feed.step()
        clock["now"] += timedelta(milliseconds=100)
    assert price_recorded_through("WSE-USD") is None
    feed.step()  # 14:30:01.0, the first step of the next second
    assert price_recorded_through("WSE-USD") == START + timedelta(seconds=1) - timedelta(microseconds=1)
    assert price_at("WSE-USD", START + timedelta(seconds=1) - timedelta(microseconds=1)) == D("104.00")
