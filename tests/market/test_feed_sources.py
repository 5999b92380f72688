"""Price sources: the random walk is deterministic per seed and respects the
price scale; the replay honours every historical bar's O/H/L/C."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market.feed.sources import (
    HistoricalBar,
    RandomWalk,
    Replay,
    SourceConfigError,
    replay_bars_load,
    source_build,
)

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
STEP = timedelta(milliseconds=250)


def walk_path(*, seed: int, symbol: str = "BTC-USD", scale: int = 2, steps: int = 400) -> list[Decimal]:
    walk = RandomWalk(
        symbol=symbol,
        price_scale=scale,
        start_price=Decimal("65000.00"),
        volatility=Decimal("0.60"),
        seed=seed,
        speed=Decimal(3600),  # an hour of market per second: big enough moves to compare
    )
    prices = []
    for n in range(steps):
        ticks = walk.ticks(T0 + n * STEP, T0 + (n + 1) * STEP)
        assert len(ticks) == 1
        assert ticks[0].at == T0 + (n + 1) * STEP
        prices.append(ticks[0].price)
    return prices


class TestRandomWalk:
    def test_same_seed_same_path(self):
        assert walk_path(seed=7) == walk_path(seed=7)

    def test_other_seed_or_symbol_other_path(self):
        path = walk_path(seed=7)
        assert walk_path(seed=8) != path
        assert walk_path(seed=7, symbol="ETH-USD") != path

    @pytest.mark.parametrize("scale", [0, 2, 5, 8])
    def test_prices_are_positive_decimals_at_the_price_scale(self, scale):
        prices = walk_path(seed=3, scale=scale)
        assert all(isinstance(p, Decimal) and p > 0 for p in prices)
        assert all(p.as_tuple().exponent == -scale for p in prices)
        assert len(set(prices)) > 10  # it moves

    def test_no_time_no_tick(self):
        walk = RandomWalk(
            symbol="X", price_scale=2, start_price=Decimal(100), volatility=Decimal("0.5"), seed=1
        )
        assert walk.ticks(T0, T0) == []

    def test_start_price_continues_a_restarted_walk(self):
        source = source_build(
            kind="random_walk",
            symbol="BTC-USD",
            price_scale=2,
            params={"start_price": "65000.00", "volatility": "0.60"},
            seed=1,
            start_price=Decimal("123.45"),
        )
        (tick,) = source.ticks(T0, T0 + STEP)
        # A quarter second of a 60 % walk stays within a few cents of 123.45.
        assert abs(tick.price - Decimal("123.45")) < Decimal("1.00")


BARS = (
    HistoricalBar(Decimal("100.00"), Decimal("104.06"), Decimal("95.96"), Decimal("100.34"), Decimal(300)),
    HistoricalBar(Decimal("101.01"), Decimal("109.08"), Decimal("100.50"), Decimal("100.99"), Decimal(10)),
    HistoricalBar(Decimal("110.00"), Decimal("110.00"), Decimal("110.00"), Decimal("110.00"), Decimal(1)),
)


def replay_ticks(source: Replay, start: datetime, end: datetime, step: timedelta) -> list:
    ticks, at = [], start
    while at < end:
        ticks += source.ticks(at, at + step)
        at += step
    return ticks


class TestReplay:
    @pytest.mark.parametrize("step_ms", [250, 1000, 7000])
    def test_every_bar_opens_at_o_touches_h_and_l_and_closes_at_c(self, step_ms):
        source = Replay(price_scale=2, bars=BARS, bar_seconds=60)
        # Minute-aligned: with bar_seconds=60 and speed 1, each replayed bar is one UTC minute.
        start = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
        ticks = replay_ticks(
            source, start - STEP, start + timedelta(minutes=6), timedelta(milliseconds=step_ms)
        )
        for minute in range(6):
            bar_start = start + timedelta(minutes=minute)
            expected = source.bar_at(bar_start)
            in_bar = [t for t in ticks if bar_start <= t.at < bar_start + timedelta(minutes=1)]
            prices = [t.price for t in in_bar]
            assert in_bar[0].at == bar_start
            assert (prices[0], max(prices), min(prices), prices[-1]) == (
                expected.open,
                expected.high,
                expected.low,
                expected.close,
            )
            assert sum(t.volume for t in in_bar) == expected.volume
        assert [t.at for t in ticks] == sorted(t.at for t in ticks)

    def test_the_file_cycles_through_every_bar_in_order(self):
        source = Replay(price_scale=2, bars=BARS, bar_seconds=60)
        start = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
        played = [source.bar_at(start + timedelta(minutes=m)) for m in range(6)]
        first = BARS.index(played[0])
        assert played == [BARS[(first + m) % 3] for m in range(6)]

    def test_speed_replays_bars_faster(self):
        source = Replay(price_scale=2, bars=BARS, bar_seconds=60, speed=Decimal(60))
        start = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
        assert source.bar_at(start) != source.bar_at(start + timedelta(seconds=1))

    def test_shipped_data_replays_real_goog_bars_at_the_price_scale(self):
        bars = replay_bars_load("GOOG.csv")
        assert len(bars) == 2148
        assert bars[0] == HistoricalBar(
            Decimal("100"), Decimal("104.06"), Decimal("95.96"), Decimal("100.34"), Decimal(22351900)
        )
        source = Replay(price_scale=2, bars=bars, bar_seconds=300)
        ticks = replay_ticks(source, T0, T0 + timedelta(seconds=30), timedelta(seconds=1))
        assert all(t.price.as_tuple().exponent == -2 for t in ticks)
        bar = source.bar_at(T0)
        assert all(bar.low <= t.price <= bar.high for t in ticks)

    @pytest.mark.parametrize(
        "params",
        [{}, {"file": "../settings.py"}, {"file": "NOPE.csv"}, {"file": "GOOG.csv", "bar_seconds": "60"}],
    )
    def test_bad_parameters_are_refused_at_start(self, params):
        with pytest.raises(SourceConfigError):
            source_build(kind="replay", symbol="GOOG", price_scale=2, params=params, seed=1)

    def test_unknown_source_kind_is_refused(self):
        with pytest.raises(SourceConfigError, match="unknown feed source"):
            source_build(kind="carrier_pigeon", symbol="GOOG", price_scale=2, params={}, seed=1)
