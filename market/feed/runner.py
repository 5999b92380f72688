"""`MarketFeed`: the loop behind `manage.py run_market_feed`.

Every `tick_interval` seconds, for each instrument whose market is open, the
feed asks its source for the ticks since the last step and then:

1. adds them to the recorder (1-minute bars, 1-second ticks; flushed to
   PostgreSQL every `flush_interval` seconds in one transaction);
2. writes each symbol's latest price and time to Redis (`price_record`, one
   round trip for all symbols);
3. offers the latest tick to the coalescer and publishes what it lets through
   with `realtime.ticks.publish_tick` (group `ticker.<SYMBOL>`);
4. asks Redis which price watches (`market.watches`: trading's take-profit,
   stop-loss and liquidation levels) the step's ticks crossed, and hands
   them to the registered listeners, at most once per symbol every
   `PRICE_WATCH_INTERVAL` seconds (`CrossingThrottle`).

The recorder is flushed at the first step of every new second (the ticks of
the second just ended are then final: settlement at an expiry instant waits
for exactly that, `price_recorded_through`), and at least every
`flush_interval` seconds.

A closed market gets no ticks, and its source is not asked to catch up when it
reopens (a replay resumes at the current bar, a walk steps from its last
price). Redis and PostgreSQL each have their own `Backoff`: an error is
logged, that dependency is left alone until the back-off expires, and the loop
goes on; bars keep accumulating in memory while PostgreSQL is away and are
written when it returns. The loop itself only ends on `stop()`, a signal, or
the `seconds`/`steps` limit used by tests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone
from redis.exceptions import RedisError

from market import calendars
from market.feed.backoff import Backoff
from market.feed.coalesce import Coalescer
from market.feed.crossings import CrossingThrottle
from market.feed.recorder import Recorder, ticks_prune
from market.feed.sources import PriceSource
from market.models import Instrument
from market.prices import price_record, price_recorded_mark
from market.watches import crossing_listeners, crossing_notify, watches_crossed
from realtime.ticks import publish_tick

logger = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0
REDIS_ERRORS = (RedisError, OSError)


@dataclass
class FeedInstrument:
    instrument: Instrument
    source: PriceSource
    last: datetime
    # Cached market state: `is_open` holds until `until` (None: forever).
    is_open: bool = False
    until: datetime | None = field(default=None)
    checked: bool = False


class MarketFeed:
    def __init__(
        self,
        *,
        instruments: list[tuple[Instrument, PriceSource]],
        tick_interval: float,
        flush_interval: float,
        max_rate: int,
        publish: Callable[..., None] = publish_tick,
        now: Callable[[], datetime] = timezone.now,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        start = now()
        self.items = [FeedInstrument(instrument=i, source=s, last=start) for i, s in instruments]
        self.tick_interval = tick_interval
        self.flush_interval = flush_interval
        self.coalescer = Coalescer(max_rate=max_rate)
        self.crossings = CrossingThrottle(interval=settings.PRICE_WATCH_INTERVAL)
        self.recorder = Recorder()
        self.redis = Backoff()
        self.db = Backoff()
        self.publish = publish
        self.now = now
        self.clock = clock
        self.sleep = sleep
        self.steps = 0
        self.ticks = 0
        self.published = 0
        self._stopping = False
        self._next_flush = clock() + flush_interval
        self._flushed_second = start.replace(microsecond=0)
        self._next_prune = clock()
        self._recorded_through: datetime | None = None

    def stop(self) -> None:
        self._stopping = True

    # --- market state ---------------------------------------------------------

    def _market_open(self, item: FeedInstrument, now: datetime) -> bool:
        if item.checked and (item.until is None or now < item.until):
            return item.is_open
        try:
            item.is_open = calendars.market_is_open(item.instrument, now)
            edge = calendars.next_close if item.is_open else calendars.next_open
            item.until = edge(item.instrument, now)
        except calendars.CalendarRangeError:
            logger.error("%s: no calendar data for %s; treating as closed", item.instrument.symbol, now)
            item.is_open, item.until = False, now + timedelta(hours=1)
        item.checked = True
        return item.is_open

    # --- one step -------------------------------------------------------------

    def step(self) -> None:
        now = self.now()
        mono = self.clock()
        latest: dict[str, tuple[Decimal, datetime]] = {}
        stepped: dict[str, list[tuple[datetime, Decimal]]] = {}
        for item in self.items:
            since, item.last = item.last, now
            if not self._market_open(item, now):
                continue
            ticks = item.source.ticks(since, now)
            for tick in ticks:
                self.recorder.add(item.instrument.pk, tick)
            if ticks:
                last = ticks[-1]
                latest[item.instrument.symbol] = (last.price, last.at)
                self.coalescer.offer(symbol=item.instrument.symbol, price=last.price, at=last.at)
                self.ticks += len(ticks)
                stepped[item.instrument.symbol] = [(t.at, t.price) for t in ticks]
        self.steps += 1
        second = now.replace(microsecond=0)
        if mono >= self._next_flush or second > self._flushed_second:
            # A second has ended: its ticks are final, record them now.
            self._next_flush = mono + self.flush_interval
            self._flushed_second = second
            self._flush(now, mono)
        self._to_redis(latest, mono)
        self._watch(stepped, mono)

    def _to_redis(self, latest: dict[str, tuple[Decimal, datetime]], mono: float) -> None:
        if not self.redis.ready(mono):
            return
        try:
            if latest:
                price_record(prices=latest)
            if self._recorded_through is not None:
                symbols = [item.instrument.symbol for item in self.items]
                price_recorded_mark(symbols=symbols, through=self._recorded_through)
                self._recorded_through = None
        except REDIS_ERRORS as exc:
            delay = self.redis.failed(mono)
            logger.warning("Redis unavailable (%s); retrying in %.1f s", exc, delay)
            return
        if self.redis.down:
            logger.warning("Redis is back after %d failed attempts", self.redis.failures)
            self.redis.succeeded()
        # The channel layer lives on the same Redis; publish only while it answers.
        for tick in self.coalescer.due(mono):
            self.publish(symbol=tick.symbol, price=tick.price, at=tick.at)
            self.published += 1

    def _watch(self, stepped: dict[str, list[tuple[datetime, Decimal]]], mono: float) -> None:
        """Price watches crossed by this step's ticks, to the listeners (throttled)."""
        if not crossing_listeners() or self.redis.down:
            return
        if stepped:
            ranges = {
                symbol: (min(p for _, p in ticks), max(p for _, p in ticks))
                for symbol, ticks in stepped.items()
            }
            try:
                crossed = watches_crossed(ranges)
            except REDIS_ERRORS as exc:
                delay = self.redis.failed(mono)
                logger.warning("Redis unavailable for price watches (%s); retrying in %.1f s", exc, delay)
                return
            for symbol, members in crossed.items():
                self.crossings.offer(symbol=symbol, ticks=stepped[symbol], members=members)
        for crossing in self.crossings.due(mono):
            crossing_notify(crossing)

    def _flush(self, now: datetime, mono: float) -> None:
        if not self.db.ready(mono):
            return
        try:
            written = self.recorder.flush(before=now)
            if mono >= self._next_prune:
                self._next_prune = mono + PRUNE_EVERY_SECONDS
                retention = timedelta(days=settings.PRICE_TICK_RETENTION_DAYS)
                ticks_prune(older_than=now - retention)
        except DatabaseError as exc:
            delay = self.db.failed(mono)
            logger.warning(
                "PostgreSQL unavailable (%s); %d rows pending, retrying in %.1f s",
                exc,
                self.recorder.pending,
                delay,
            )
            # Drop the broken connection so the next attempt opens a new one.
            connection.close()
            return
        if self.db.down:
            logger.warning("PostgreSQL is back after %d failed attempts", self.db.failures)
            self.db.succeeded()
        # Ticks of the second still running stay pending (Recorder.flush).
        self._recorded_through = now.replace(microsecond=0) - timedelta(microseconds=1)
        logger.debug("flushed %d rows", written)

    # --- the loop -------------------------------------------------------------

    def run(self, *, seconds: float | None = None, steps: int | None = None) -> None:
        started = self.clock()
        next_step = started
        try:
            while not self._stopping:
                if seconds is not None and self.clock() - started >= seconds:
                    break
                if steps is not None and self.steps >= steps:
                    break
                self.step()
                next_step += self.tick_interval
                delay = next_step - self.clock()
                if delay > 0:
                    self.sleep(delay)
                else:
                    next_step = self.clock()  # running late: do not try to catch up in a burst
        finally:
            self._final_flush()

    def _final_flush(self) -> None:
        """One last attempt to write what is pending, so a clean stop leaves no hole."""
        try:
            self.recorder.flush()
        except DatabaseError:
            logger.error("final flush failed: %d pending rows lost", self.recorder.pending, exc_info=True)
            return
        try:
            symbols = [item.instrument.symbol for item in self.items]
            price_recorded_mark(symbols=symbols, through=self.now())
        except REDIS_ERRORS:
            logger.warning("could not mark prices recorded: Redis unavailable")
