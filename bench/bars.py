"""Bars endpoint latency on a year of 1-minute bars, beside the raw SQL of the
same queries measured in the same run.

    DATABASE_URL=postgres://... REDIS_URL=redis://... \\
    DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python bench/bars.py

Creates (and at the end drops) the database `tv_bench_bars` on the server of
DATABASE_URL, migrates it, loads one year of 1-minute bars for BTC-USD
(525,600 rows, with COPY), ANALYZEs, then for a day, a week and a month at
each interval (1m, 5m, 15m, 1h, 1d) times:

- `api`: GET /api/v1/instruments/BTC-USD/bars/ through DRF's test client,
  in-process (routing, auth, query validation, the selector's SQL, JSON);
- `sql`: the selector's SQL alone on a psycopg connection (the baseline).

The COPY does not go through the feed, so the hour rollups (`HourBar`, which
1h and 1d read) are rebuilt once with `bars_rollup`, as after any import. The
goal section also times a month of 1h bars aggregated on the fly from the
1-minute bars, the design the rollup replaced.

Each case runs BENCH_REPEATS (100) times over windows spread through the
year (a fifth of that for cases of more than 2,000 bars).
Prints JSON: p50/p99 in ms per case, the status (a month of 1m bars is over
the 20,000-bar bound and answers 400 by design), and the EXPLAIN ANALYZE of
a month of 1h bars to show the (instrument_id, start) index is used. The
issue's goal: p99 < 50 ms for a month of 1h bars.
"""

import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import admin_exec  # noqa: E402
from config.env import with_database  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DB", "tv_bench_bars")
# Samples per case; cases returning thousands of bars take long, so they get
# a fifth (their p99 is then close to their maximum).
REPEATS = int(os.environ.get("BENCH_REPEATS", "100"))
HEAVY_BARS = 2000
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
MINUTES = 365 * 24 * 60
RANGES = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
INTERVALS = ["1m", "5m", "15m", "1h", "1d"]


def load_bars(url: str, instrument_id: int) -> tuple[int, float]:
    """COPY a year of 1-minute bars: a random walk in integer cents (exact, no float)."""
    import psycopg

    rng = random.Random(42)
    started = time.perf_counter()
    price = 6_500_000  # cents
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        columns = "instrument_id, start, open, high, low, close, volume"
        with cur.copy(f"COPY trading_bar ({columns}) FROM STDIN") as copy:
            for minute in range(MINUTES):
                open_ = price
                close = max(100, open_ + rng.randint(-2_000, 2_000))
                high = max(open_, close) + rng.randint(0, 1_000)
                low = max(1, min(open_, close) - rng.randint(0, 1_000))
                price = close
                copy.write_row(
                    (
                        instrument_id,
                        YEAR_START + timedelta(minutes=minute),
                        f"{open_ // 100}.{open_ % 100:02d}",
                        f"{high // 100}.{high % 100:02d}",
                        f"{low // 100}.{low % 100:02d}",
                        f"{close // 100}.{close % 100:02d}",
                        str(rng.randint(1, 500)),
                    )
                )
        conn.commit()
        cur.execute("ANALYZE trading_bar")
        conn.commit()
    return MINUTES, time.perf_counter() - started


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def windows(span: timedelta, repeats: int) -> list[datetime]:
    """`repeats` window starts spread across the year (so each run is not one cached range)."""
    last = YEAR_START + timedelta(days=365) - span
    step = (last - YEAR_START) / repeats
    return [YEAR_START + step * i for i in range(repeats)]


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    url = with_database(base_url, BENCH_DB)
    admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_exec(base_url, f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = url
    try:
        print(json.dumps(run(url), indent=2))
    finally:
        from django.db import connections

        connections.close_all()
        admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')


def run(url: str) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    import psycopg
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.test import APIClient

    from market.feed.rollup import bars_rollup
    from market.models import Instrument
    from market.selectors.bars import AGGREGATE_SQL, ORIGIN, QUERIES, bucket_floor
    from market.selectors.bars import INTERVALS as STEPS

    call_command("migrate", verbosity=0)
    instrument = Instrument.objects.get(symbol="BTC-USD")
    rows, load_seconds = load_bars(url, instrument.pk)
    t0 = time.perf_counter()
    hour_bars = bars_rollup(
        instrument_id=instrument.pk, start=YEAR_START, end=YEAR_START + timedelta(minutes=MINUTES)
    )
    rollup_seconds = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE trading_hourbar")

    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    client = APIClient()
    client.force_authenticate(user)
    raw = psycopg.connect(url, autocommit=True)

    def sql_params(interval: str, start: datetime, end: datetime) -> dict:
        step = STEPS[interval]
        return {
            "step": f"{int(step.total_seconds())} seconds",
            "origin": ORIGIN,
            "instrument": instrument.pk,
            "start": bucket_floor(start, step),
            "end": end,
            "scale": instrument.price_scale,
        }

    cases = []
    for range_name, span in RANGES.items():
        for interval in INTERVALS:
            api_times, sql_times, statuses, bars = [], [], set(), 0
            sql = QUERIES[interval]
            repeats = REPEATS if span / STEPS[interval] <= HEAVY_BARS else max(10, REPEATS // 5)
            for start in windows(span, repeats):
                end = start + span
                query = {"interval": interval, "start": start.isoformat(), "end": end.isoformat()}
                t0 = time.perf_counter()
                response = client.get("/api/v1/instruments/BTC-USD/bars/", query)
                api_times.append(time.perf_counter() - t0)
                statuses.add(response.status_code)
                if response.status_code == 200:
                    bars = len(response.json()["bars"])
                t0 = time.perf_counter()
                raw.execute(sql, sql_params(interval, start, end)).fetchall()
                sql_times.append(time.perf_counter() - t0)
            cases.append(
                {
                    "range": range_name,
                    "interval": interval,
                    "status": sorted(statuses),
                    "samples": repeats,
                    "bars": bars,
                    "api_p50_ms": pct(api_times, 0.50),
                    "api_p99_ms": pct(api_times, 0.99),
                    "sql_p50_ms": pct(sql_times, 0.50),
                    "sql_p99_ms": pct(sql_times, 0.99),
                    "api_mean_ms": round(statistics.fmean(api_times) * 1000, 2),
                }
            )

    start = YEAR_START + timedelta(days=180)
    month_1h = sql_params("1h", start, start + RANGES["month"])
    explain = raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + QUERIES["1h"], month_1h).fetchall()
    # For comparison: the same month of 1h bars aggregated on the fly from 1-minute bars.
    on_the_fly = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        raw.execute(AGGREGATE_SQL.format(table="trading_bar"), month_1h).fetchall()
        on_the_fly.append(time.perf_counter() - t0)
    raw.close()
    goal = next(c for c in cases if c["range"] == "month" and c["interval"] == "1h")
    plan = [line for (line,) in explain]
    return {
        "bench": "bars",
        "rows": rows,
        "load_seconds": round(load_seconds, 1),
        "hour_bars": hour_bars,
        "rollup_seconds": round(rollup_seconds, 1),
        "repeats": REPEATS,
        "cases": cases,
        "goal": {
            "case": "month of 1h bars through the API",
            "p99_ms": goal["api_p99_ms"],
            "target_p99_ms": 50,
            "met": goal["api_p99_ms"] < 50,
            "index_used": any("hourbar_instrument_start_uniq" in line for line in plan),
            "sql_month_1h_from_1m_bars_p50_ms": pct(on_the_fly, 0.50),
            "sql_month_1h_from_1m_bars_p99_ms": pct(on_the_fly, 0.99),
        },
        "explain_month_1h": plan,
    }


if __name__ == "__main__":
    main()
