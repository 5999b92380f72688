"""Writes what the feed saw to PostgreSQL in batches.

Between flushes the recorder aggregates in memory:

- per (instrument, minute) and per (instrument, hour): open of the first
  tick, high, low, close of the last tick and the volume since the last
  successful flush (`Bar` and its rollup `HourBar`);
- per (instrument, second): the last tick of that second (`PriceTick`),
  written once the second is over (a restart in mid-second may leave two
  rows for that second; both are true prices at their instants).

`flush()` upserts all three in one transaction. A bar that already exists keeps its
open, widens its high/low, takes the new close and adds the volume, so
flushing a minute in several pieces, after a failed flush, or after a restart
in the middle of a minute all give the same bar. When a flush fails nothing is
dropped: the pending aggregates keep merging until the next flush succeeds
(bounded by `MAX_PENDING_TICKS`; beyond it the oldest seconds are dropped
with a log line, bars are kept).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

from market.feed.sources import SourceTick

logger = logging.getLogger(__name__)

MAX_PENDING_TICKS = 200_000

# The same upsert for 1-minute bars (trading_bar) and their 1-hour rollups
# (trading_hourbar): both merge a partial bar into what is stored.
BAR_UPSERT = """
INSERT INTO {table} AS bar (instrument_id, start, open, high, low, close, volume)
VALUES {rows}
ON CONFLICT (instrument_id, start) DO UPDATE SET
    high = GREATEST(bar.high, EXCLUDED.high),
    low = LEAST(bar.low, EXCLUDED.low),
    close = EXCLUDED.close,
    volume = bar.volume + EXCLUDED.volume
"""

TICK_UPSERT = """
INSERT INTO trading_pricetick (instrument_id, at, price)
VALUES {rows}
ON CONFLICT (instrument_id, at) DO UPDATE SET price = EXCLUDED.price
"""

# One statement per chunk keeps a long backlog from building a huge query.
CHUNK = 1000


@dataclass
class PendingBar:
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _merge(bars: dict[tuple[int, datetime], PendingBar], key: tuple[int, datetime], tick: SourceTick) -> None:
    bar = bars.get(key)
    if bar is None:
        bars[key] = PendingBar(tick.price, tick.price, tick.price, tick.price, tick.volume)
    else:
        bar.high = max(bar.high, tick.price)
        bar.low = min(bar.low, tick.price)
        bar.close = tick.price
        bar.volume = bar.volume + tick.volume


def _second(at: datetime) -> datetime:
    return at.replace(microsecond=0)


class Recorder:
    def __init__(self) -> None:
        self.bars: dict[tuple[int, datetime], PendingBar] = {}
        self.hours: dict[tuple[int, datetime], PendingBar] = {}
        self.ticks: dict[tuple[int, datetime], SourceTick] = {}

    def add(self, instrument_id: int, tick: SourceTick) -> None:
        _merge(self.bars, (instrument_id, _minute(tick.at)), tick)
        _merge(self.hours, (instrument_id, _hour(tick.at)), tick)
        self.ticks[(instrument_id, _second(tick.at))] = tick
        if len(self.ticks) > MAX_PENDING_TICKS:
            oldest = sorted(self.ticks)[: len(self.ticks) - MAX_PENDING_TICKS]
            for k in oldest:
                del self.ticks[k]
            logger.error("recorder backlog full: dropped %d pending 1-second ticks", len(oldest))

    @property
    def pending(self) -> int:
        return len(self.bars) + len(self.hours) + len(self.ticks)

    def flush(self, *, before: datetime | None = None) -> int:
        """Upsert what is pending in one transaction; returns the rows written.

        With `before`, 1-second ticks of seconds not yet over at `before` stay
        pending, so each second is written once with its last tick. Raises the
        database error if PostgreSQL fails; the pending data stays.
        """
        cutoff = None if before is None else _second(before)
        bars = sorted(self.bars.items(), key=lambda kv: kv[0])
        hours = sorted(self.hours.items(), key=lambda kv: kv[0])
        ticks = sorted(
            ((key, t) for key, t in self.ticks.items() if cutoff is None or key[1] < cutoff),
            key=lambda kv: kv[0],
        )
        if not bars and not ticks:  # hours exist whenever bars do
            return 0
        with transaction.atomic(), connection.cursor() as cursor:
            for table, pending in (("trading_bar", bars), ("trading_hourbar", hours)):
                _upsert_bars(cursor, table, pending)
            for i in range(0, len(ticks), CHUNK):
                tchunk = ticks[i : i + CHUNK]
                params: list[int | datetime | Decimal] = []
                for (instrument_id, _), t in tchunk:
                    params += [instrument_id, t.at, t.price]
                rows = ",".join(["(%s, %s, %s)"] * len(tchunk))
                cursor.execute(TICK_UPSERT.format(rows=rows), params)
        self.bars.clear()
        self.hours.clear()
        for key, _ in ticks:
            del self.ticks[key]
        return len(bars) + len(hours) + len(ticks)


def _upsert_bars(
    cursor: CursorWrapper, table: str, bars: list[tuple[tuple[int, datetime], PendingBar]]
) -> None:
    for i in range(0, len(bars), CHUNK):
        chunk = bars[i : i + CHUNK]
        params: list[int | datetime | Decimal] = []
        for (instrument_id, start), b in chunk:
            params += [instrument_id, start, b.open, b.high, b.low, b.close, b.volume]
        rows = ",".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
        cursor.execute(BAR_UPSERT.format(table=table, rows=rows), params)


def ticks_prune(*, older_than: datetime) -> int:
    """Delete 1-second price ticks older than `older_than` (their retention)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM trading_pricetick WHERE at < %s", [older_than])
        return cursor.rowcount
