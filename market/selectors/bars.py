"""OHLCV bars at 1m, 5m, 15m, 1h and 1d, aggregated in SQL from stored bars.

1m is `Bar` as stored, 5m and 15m are aggregated from it; 1h is `HourBar`
(the rollup the feed writes with the minutes), 1d is aggregated from it. So
no request aggregates more than BARS_MAX x 15 rows, and a month of 1h bars
reads 720 rows instead of aggregating 43,200 (bench/bars.py has both).

Buckets come from PostgreSQL's `date_bin` with the origin 2000-01-01 UTC, so
every interval is aligned to UTC (a 1d bar is a UTC day, not an exchange
session). A query covers the buckets whose start lies in [start, end): the
start is floored to its bucket, and a bucket cut by `end` (the live one)
aggregates the bars it has. The (instrument_id, start) unique index serves the
range scan; `bench/bars.py` shows the plan and the timings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db import connection

from core.errors import DomainError
from market.models import Instrument

INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}
# A response holds at most this many bars (a week of 1-minute bars, ~13
# years of daily ones); a longer range is refused rather than paginated, so a
# chart asks for a coarser interval instead.
BARS_MAX = 20_000
DEFAULT_BARS = 500
ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

AGGREGATE_SQL = """
SELECT extract(epoch FROM date_bin(%(step)s::interval, start, %(origin)s))::bigint AS bucket,
       round((array_agg(open ORDER BY start))[1], %(scale)s) AS open,
       round(max(high), %(scale)s) AS high,
       round(min(low), %(scale)s) AS low,
       round((array_agg(close ORDER BY start DESC))[1], %(scale)s) AS close,
       sum(volume) AS volume
FROM {table}
WHERE instrument_id = %(instrument)s AND start >= %(start)s AND start < %(end)s
GROUP BY bucket
ORDER BY bucket
"""

BASE_SQL = """
SELECT extract(epoch FROM start)::bigint,
       round(open, %(scale)s), round(high, %(scale)s), round(low, %(scale)s), round(close, %(scale)s),
       volume
FROM {table}
WHERE instrument_id = %(instrument)s AND start >= %(start)s AND start < %(end)s
ORDER BY start
"""

# The query of each interval (the table it reads is in the module docstring).
QUERIES: dict[str, str] = {
    "1m": BASE_SQL.format(table="trading_bar"),
    "5m": AGGREGATE_SQL.format(table="trading_bar"),
    "15m": AGGREGATE_SQL.format(table="trading_bar"),
    "1h": BASE_SQL.format(table="trading_hourbar"),
    "1d": AGGREGATE_SQL.format(table="trading_hourbar"),
}


class BarsRangeError(DomainError):
    code = "invalid_range"


@dataclass(frozen=True, slots=True)
class OHLCV:
    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def bucket_floor(at: datetime, step: timedelta) -> datetime:
    return ORIGIN + step * ((at - ORIGIN) // step)


def _query_floor(at: datetime, step: timedelta) -> datetime:
    """`bucket_floor`, or the first instant a `datetime` holds when the bucket
    of a year-1 `at` would begin before it (no bar is that old)."""
    try:
        return bucket_floor(at, step)
    except OverflowError:
        return datetime.min.replace(tzinfo=at.tzinfo)


def bars_range_check(*, interval: str, start: datetime, end: datetime) -> None:
    """Refuse an unknown interval, a reversed/empty range or one over BARS_MAX bars."""
    if interval not in INTERVALS:
        raise BarsRangeError(f"interval must be one of {', '.join(INTERVALS)}", field="interval")
    if end <= start:
        raise BarsRangeError("end must be after start", field="end")
    if (end - _query_floor(start, INTERVALS[interval])) / INTERVALS[interval] > BARS_MAX:
        raise BarsRangeError(
            f"the range holds more than {BARS_MAX} {interval} bars; use a shorter range or a longer interval",
            field="start",
        )


def bars_aggregate(*, instrument: Instrument, interval: str, start: datetime, end: datetime) -> list[OHLCV]:
    """OHLCV bars of `instrument` at `interval` for buckets starting in [start, end)."""
    bars_range_check(interval=interval, start=start, end=end)
    step = INTERVALS[interval]
    params: dict[str, str | datetime | int] = {
        "step": f"{int(step.total_seconds())} seconds",
        "origin": ORIGIN,
        "instrument": instrument.pk,
        "start": _query_floor(start, step),
        "end": end,
        "scale": instrument.price_scale,
    }
    with connection.cursor() as cursor:
        cursor.execute(QUERIES[interval], params)
        rows = cursor.fetchall()
    # Prices come back rounded to the instrument's scale by SQL (half away
    # from zero; stored prices already have that scale, so it only trims zeros)
    # and times as epoch seconds: Django's aware-datetime loader cost ~10 us a
    # row, most of a month of 1h bars (bench/bars.py).
    return [OHLCV(EPOCH + timedelta(seconds=row[0]), *row[1:]) for row in rows]
