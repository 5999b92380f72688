"""Rebuilding 1-hour rollups (`HourBar`) from the 1-minute bars.

The feed keeps rollups current as it writes (market.feed.recorder); this
rebuild is for bars that arrived another way (a bulk import, the benchmark's
COPY, a repair). It recomputes every whole hour touched by [start, end) from
`Bar` in one SQL statement and replaces what `HourBar` held for those hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction

from market.selectors.bars import ORIGIN, bucket_floor

HOUR = timedelta(hours=1)

ROLLUP_SQL = """
INSERT INTO trading_hourbar (instrument_id, start, open, high, low, close, volume)
SELECT instrument_id,
       date_bin('1 hour'::interval, start, %(origin)s) AS bucket,
       (array_agg(open ORDER BY start))[1],
       max(high),
       min(low),
       (array_agg(close ORDER BY start DESC))[1],
       sum(volume)
FROM trading_bar
WHERE instrument_id = %(instrument)s AND start >= %(start)s AND start < %(end)s
GROUP BY instrument_id, bucket
ON CONFLICT (instrument_id, start) DO UPDATE SET
    open = EXCLUDED.open,
    high = EXCLUDED.high,
    low = EXCLUDED.low,
    close = EXCLUDED.close,
    volume = EXCLUDED.volume
"""


def bars_rollup(*, instrument_id: int, start: datetime, end: datetime) -> int:
    """Recompute the hour bars of `instrument_id` for every hour touching [start, end).

    Returns the number of hour bars written.
    """
    first = bucket_floor(start, HOUR)
    last = bucket_floor(end, HOUR) + (HOUR if end != bucket_floor(end, HOUR) else timedelta(0))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            ROLLUP_SQL, {"origin": ORIGIN, "instrument": instrument_id, "start": first, "end": last}
        )
        return cursor.rowcount
