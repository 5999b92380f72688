"""Where a trade POST's time goes, in-process: `POST /api/v1/trades/` against
the bare authenticated INSERT endpoint (`/bench/bare/`), both through
Django's test client with the bench settings (bench/trades_settings.py), on
a database of its own.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/post_profile.py [--profile]

Sequential and warm (the first BENCH_WARMUP requests of each are not
counted), so the figures are the Python work per request plus its round
trips, without a server or a load generator in the way. Reports p50 per
POST of each, their ratio, the SQL statements and Redis commands one trade
POST sends (counted, so they hold on any machine), and with `--profile` the
cProfile lines of the trade POSTs that take the most time (cumulative).
Prints JSON.
"""

import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import admin_exec  # noqa: E402
from config.env import with_database  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DB", f"tv_bench_post_{os.getpid()}")
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "50"))
SYMBOL = "BENCH-USD"


def _p50(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


def _redis_commands(run) -> int:
    """How many commands the process's Redis clients send during `run()`:
    counted by wrapping the connection's `send_packed_command`."""
    from redis.connection import AbstractConnection

    sent = 0
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        nonlocal sent
        sent += 1
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting
    try:
        run()
    finally:
        AbstractConnection.send_packed_command = original
    return sent


def _bench(profile: bool) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from market.models import Instrument
    from market.prices import price_record
    from wallets.services import wallet_deposit

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_probe (id bigserial PRIMARY KEY, user_id bigint, at timestamptz)")
    Instrument.objects.create(
        symbol=SYMBOL, name="Bench", asset_class="crypto", price_scale=2, calendar="always",
        max_stake=Decimal("10000.00"),
    )  # fmt: skip
    user = get_user_model().objects.create_user(username="bench-post")
    wallet_deposit(user=user, amount=Decimal("90000.00"), currency="USD", idempotency_key="fund")
    token = Token.objects.create(user=user).key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    body = json.dumps({"instrument": SYMBOL, "side": "buy", "stake": "10.00"})

    def post(url: str) -> None:
        key = str(uuid.uuid4())
        response = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)
        assert response.status_code == 202, response.content

    def timed(url: str) -> list[float]:
        samples = []
        for n in range(REQUESTS + WARMUP):
            if n % 50 == 0:
                price_record(prices={SYMBOL: (Decimal("100.00"), timezone.now())})
            start = time.perf_counter()
            post(url)
            if n >= WARMUP:
                samples.append(time.perf_counter() - start)
        return samples

    # Alternate the two, so machine noise falls on both alike.
    trade, bare = [], []
    for _ in range(2):
        bare += timed("/bench/bare/")
        trade += timed("/api/v1/trades/")
    with CaptureQueriesContext(connection) as queries:
        post("/api/v1/trades/")
    statements = [q["sql"].split()[0].upper() for q in queries.captured_queries]
    redis_commands = _redis_commands(lambda: post("/api/v1/trades/"))
    result: dict = {
        "requests_each": len(trade),
        "trade_post_p50_ms": _p50(trade),
        "bare_post_p50_ms": _p50(bare),
        "ratio_trade_to_bare_p50": round(statistics.median(trade) / statistics.median(bare), 2),
        "trade_post_sql_statements": len(statements),
        "trade_post_sql_kinds": {kind: statements.count(kind) for kind in sorted(set(statements))},
        "trade_post_redis_commands": redis_commands,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    result.update(_opens(profile))
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(100):
            post("/api/v1/trades/")
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        result["profile_cumulative_100_posts"] = out.getvalue().splitlines()
    return result


def _opens(profile: bool) -> dict:
    """The worker's half, in-process: `trade_open` of the trades the POSTs
    queued, sequential and warm, each in its own transaction as the task runs
    it (no broker, no worker process: the service's Python and round trips)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from market.prices import price_record
    from trading.trades.models import Trade, TradeStatus
    from trading.trades.services import trade_open

    queued = list(Trade.objects.filter(status=TradeStatus.QUEUED).order_by("pk").values_list("pk", flat=True))
    samples = []
    for n, trade_id in enumerate(queued[: REQUESTS + WARMUP]):
        if n % 50 == 0:
            price_record(prices={SYMBOL: (Decimal("100.00"), timezone.now())})
        start = time.perf_counter()
        assert trade_open(trade_id=trade_id).status == TradeStatus.OPEN
        if n >= WARMUP:
            samples.append(time.perf_counter() - start)
    rest = queued[REQUESTS + WARMUP :]
    with CaptureQueriesContext(connection) as queries:
        trade_open(trade_id=rest[0])
    result: dict = {
        "opens": len(samples),
        "trade_open_p50_ms": _p50(samples),
        # One open's statements, its after-commit listeners' included.
        "trade_open_sql_statements": len(queries.captured_queries),
    }
    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for trade_id in rest[1:101]:
            trade_open(trade_id=trade_id)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        result["profile_cumulative_100_opens"] = out.getvalue().splitlines()
    return result


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradevision")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.trades_settings"
    # Every queued trade of the run is opened afterwards (`_opens`).
    os.environ.setdefault("MAX_OPEN_TRADES", "1000000")
    os.environ.setdefault("CHANNEL_PREFIX", f"tvbench{uuid.uuid4().hex[:8]}")
    # The initiation tasks the POSTs send go to a queue of this run's own,
    # which nobody consumes and which is deleted at the end.
    queue = os.environ.setdefault("BENCH_QUEUE", f"bench-post-{os.getpid()}")
    admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_exec(base_url, f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = with_database(base_url, BENCH_DB)
    try:
        result = _bench(profile="--profile" in sys.argv)
    finally:
        from django.db import connections

        connections.close_all()
        admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).delete(queue)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
