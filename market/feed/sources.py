"""Price sources: where the feed's prices come from.

A source prices one instrument. The feed calls `ticks(since, until)` every
tick interval while the instrument's market is open and records whatever it
returns. That method is the whole interface a live exchange or broker adapter
implements (e.g. by draining a queue its websocket thread fills); nothing in
trading needs to change for it. Register a new kind in `SOURCES`.

Built-in sources:

- `RandomWalk`: geometric Brownian motion with the instrument's annualised
  volatility, driven by `random.Random(f"{seed}:{symbol}")`, so the same
  seed and the same sequence of instants give the same path. The walk's state
  is an unrounded Decimal; emitted prices are quantized to the price scale.
- `Replay`: real historical OHLCV bars (market/data/*.csv) replayed as a
  pure function of wall-clock time: bar `i` of the file plays from
  `i * bar_seconds / speed` seconds after the Unix epoch, modulo the file's
  length, so a restarted feed resumes exactly where the clock says. Inside a
  bar the path goes O -> L -> H -> C for a rising bar and O -> H -> L -> C for
  a falling one, linearly, with the waypoints at 0, 30, 60 and 90 % of the bar
  and C held for the last 10 %. Every waypoint crossed since the last call is
  emitted at its exact instant, so each bar's O, H, L and C are always hit.
"""

from __future__ import annotations

import csv
import functools
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
YEAR_US = Decimal(365 * 24 * 3600 * 1_000_000)
WAYPOINTS = (Decimal("0"), Decimal("0.3"), Decimal("0.6"), Decimal("0.9"))
# A feed that stalled longer than this many bars does not replay the missed
# path in one burst; it resumes at the current point of the current bar.
MAX_CATCHUP_BARS = 2


class SourceConfigError(ValueError):
    """A source's parameters are missing or invalid (raised when the feed starts)."""


@dataclass(frozen=True, slots=True)
class SourceTick:
    at: datetime
    price: Decimal
    volume: Decimal


class PriceSource(Protocol):
    def ticks(self, since: datetime, until: datetime) -> list[SourceTick]:
        """Ticks observed in (since, until], in time order, priced at the instrument's scale.

        May return nothing (no trade happened). Must not block for long: the
        feed calls every source in turn each tick interval.
        """
        ...


def _quantum(scale: int) -> Decimal:
    return Decimal(1).scaleb(-scale)


def _decimal_param(params: dict[str, Any], name: str) -> Decimal:
    try:
        value = Decimal(str(params[name]))
    except (KeyError, ArithmeticError) as exc:
        raise SourceConfigError(f"feed parameter {name!r} missing or not a number") from exc
    if not value.is_finite() or value <= 0:
        raise SourceConfigError(f"feed parameter {name!r} must be positive")
    return value


class RandomWalk:
    def __init__(
        self,
        *,
        symbol: str,
        price_scale: int,
        start_price: Decimal,
        volatility: Decimal,
        seed: int,
        speed: Decimal = Decimal(1),
    ) -> None:
        self.quantum = _quantum(price_scale)
        self.price = start_price
        self.volatility = volatility
        self.speed = speed
        # Simulation, not secrecy: a seeded PRNG is what makes paths reproducible.
        self.rng = random.Random(f"{seed}:{symbol}")  # noqa: S311

    def ticks(self, since: datetime, until: datetime) -> list[SourceTick]:
        dt = Decimal((until - since) // MICROSECOND) * self.speed / YEAR_US
        if dt <= 0:
            return []
        z = Decimal(self.rng.gauss(0.0, 1.0))
        sigma = self.volatility
        self.price *= (-(sigma * sigma) / 2 * dt + sigma * dt.sqrt() * z).exp()
        price = max(self.price.quantize(self.quantum), self.quantum)
        return [SourceTick(at=until, price=price, volume=Decimal(self.rng.randint(1, 100)))]


@dataclass(frozen=True, slots=True)
class HistoricalBar:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@functools.cache
def replay_bars_load(filename: str) -> tuple[HistoricalBar, ...]:
    """Read a CSV of the backtesting package's test data (index, Open, High, Low, Close, Volume)."""
    path = (DATA_DIR / filename).resolve()
    if path.parent != DATA_DIR or not path.is_file():
        raise SourceConfigError(f"no replay data file {filename!r} in {DATA_DIR}")
    bars = []
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            bar = HistoricalBar(
                open=Decimal(row["Open"]),
                high=Decimal(row["High"]),
                low=Decimal(row["Low"]),
                close=Decimal(row["Close"]),
                volume=Decimal(row["Volume"]),
            )
            if not bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high:
                raise SourceConfigError(f"{filename}: inconsistent bar {row}")
            bars.append(bar)
    if not bars:
        raise SourceConfigError(f"{filename} holds no bars")
    return tuple(bars)


class Replay:
    def __init__(
        self,
        *,
        price_scale: int,
        bars: tuple[HistoricalBar, ...],
        bar_seconds: int,
        speed: Decimal = Decimal(1),
    ) -> None:
        if bar_seconds <= 0:
            raise SourceConfigError("bar_seconds must be positive")
        self.quantum = _quantum(price_scale)
        self.bars = bars
        self.bar_us = Decimal(bar_seconds * 1_000_000)
        self.speed = speed

    # Replay time: microseconds of history since the epoch (wall clock x speed).
    def _replay_time(self, at: datetime) -> Decimal:
        return Decimal((at - EPOCH) // MICROSECOND) * self.speed

    def _wall_time(self, replay_time: Decimal) -> datetime:
        return EPOCH + MICROSECOND * int(replay_time / self.speed)

    def bar_at(self, at: datetime) -> HistoricalBar:
        """The historical bar being replayed at `at`."""
        return self.bars[int(self._replay_time(at) // self.bar_us) % len(self.bars)]

    def _path(self, bar: HistoricalBar) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        if bar.close >= bar.open:
            return bar.open, bar.low, bar.high, bar.close
        return bar.open, bar.high, bar.low, bar.close

    def _price(self, replay_time: Decimal) -> Decimal:
        index = int(replay_time // self.bar_us)
        fraction = (replay_time - index * self.bar_us) / self.bar_us
        points = self._path(self.bars[index % len(self.bars)])
        if fraction >= WAYPOINTS[-1]:
            return points[-1].quantize(self.quantum)
        segment = max(k for k, w in enumerate(WAYPOINTS) if w <= fraction)
        start, end = WAYPOINTS[segment], WAYPOINTS[segment + 1]
        a, b = points[segment], points[segment + 1]
        return (a + (b - a) * (fraction - start) / (end - start)).quantize(self.quantum)

    def ticks(self, since: datetime, until: datetime) -> list[SourceTick]:
        r0, r1 = self._replay_time(since), self._replay_time(until)
        if r1 <= r0:
            return []
        r0 = max(r0, r1 - MAX_CATCHUP_BARS * self.bar_us)
        out: list[SourceTick] = []
        for index in range(int(r0 // self.bar_us), int(r1 // self.bar_us) + 1):
            bar = self.bars[index % len(self.bars)]
            points = self._path(bar)
            # The volume of a bar rides on the three waypoints after the open.
            third = (bar.volume / 3).quantize(Decimal("0.00000001"))
            volumes = (Decimal(0), third, third, bar.volume - 2 * third)
            for point, fraction, volume in zip(points, WAYPOINTS, volumes, strict=True):
                replay_time = index * self.bar_us + fraction * self.bar_us
                if r0 < replay_time <= r1:
                    at = min(max(self._wall_time(replay_time), since + MICROSECOND), until)
                    out.append(SourceTick(at=at, price=point.quantize(self.quantum), volume=volume))
        if not out or out[-1].at < until:
            out.append(SourceTick(at=until, price=self._price(r1), volume=Decimal(0)))
        return out


SourceFactory = Callable[..., PriceSource]


def _random_walk(
    *,
    symbol: str,
    price_scale: int,
    params: dict[str, Any],
    seed: int,
    speed: Decimal,
    start_price: Decimal | None,
) -> PriceSource:
    return RandomWalk(
        symbol=symbol,
        price_scale=price_scale,
        start_price=start_price or _decimal_param(params, "start_price"),
        volatility=_decimal_param(params, "volatility"),
        seed=seed,
        speed=speed,
    )


def _replay(
    *,
    symbol: str,
    price_scale: int,
    params: dict[str, Any],
    seed: int,
    speed: Decimal,
    start_price: Decimal | None,
) -> PriceSource:
    if "file" not in params:
        raise SourceConfigError(f"{symbol}: a replay needs feed parameter 'file'")
    bar_seconds = params.get("bar_seconds", 60)
    if not isinstance(bar_seconds, int) or isinstance(bar_seconds, bool):
        raise SourceConfigError(f"{symbol}: bar_seconds must be an integer")
    return Replay(
        price_scale=price_scale,
        bars=replay_bars_load(str(params["file"])),
        bar_seconds=bar_seconds,
        speed=speed,
    )


# Source kinds by name (Instrument.feed_source / settings.MARKET_FEED_SOURCES).
# A live adapter adds one entry here; its factory takes the same keywords.
SOURCES: dict[str, SourceFactory] = {"random_walk": _random_walk, "replay": _replay}


def source_build(
    *,
    kind: str,
    symbol: str,
    price_scale: int,
    params: dict[str, Any],
    seed: int,
    speed: Decimal = Decimal(1),
    start_price: Decimal | None = None,
) -> PriceSource:
    """Build the source of one instrument. `start_price` continues a random walk
    from the last recorded price after a restart (replays ignore it)."""
    try:
        factory = SOURCES[kind]
    except KeyError:
        raise SourceConfigError(f"{symbol}: unknown feed source {kind!r}") from None
    return factory(
        symbol=symbol, price_scale=price_scale, params=params, seed=seed, speed=speed, start_price=start_price
    )
