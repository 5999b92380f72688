"""Settlement at the expiry instant: the lag from a trade's expiry to its
`trade.settled` frame on the socket, for BENCH_EXPIRY_TRADES (1,000) trades
expiring in the same second (issue 13: p50/p99).

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/expiry_lag.py

Creates (and at the end drops) the database `tv_bench_expiry_<pid>`, then
starts what production runs, on a queue of the run's own: the web process
(`python -m realtime.server`, daphne), a Celery worker (prefork,
BENCH_WORKER_CONCURRENCY = 2) and the real feed (`manage.py
run_market_feed`) pricing the bench's instrument. No beat: the minute sweep
never runs, so every settlement seen is the expiry task's.

BENCH_EXPIRY_USERS (100) users each hold one WebSocket on `/ws/stream/`
(tickets). The trades, spread evenly over the users, are opened through the
real `trade_open` with an opening instant chosen so that all of them expire
within one second S, their expiry fractions spread over it, so their
`trade.opened` events schedule the expiry task exactly as a worker's open
would (the first of them sends it, the rest find it sent). The lag of a
trade is the arrival (wall clock) of its `trade.settled` frame minus its
`expires_at`. Also reported: the same lag at the event row's commit
(`created_at`), the settlement tasks that ran, and what a minute sweep run
afterwards still finds (0 in the normal case).

The load generator (sockets) runs on the same machine as the servers.
Prints JSON.
"""

import asyncio
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Processes, admin_exec, percentiles  # noqa: E402
from config.env import with_database  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DB", f"tv_bench_expiry_{os.getpid()}")
TRADES = int(os.environ.get("BENCH_EXPIRY_TRADES", "1000"))
USERS = int(os.environ.get("BENCH_EXPIRY_USERS", "100"))
PORT = int(os.environ.get("BENCH_PORT", "8793"))
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
SYMBOL = "BENCH-USD"
DURATION = 60  # seconds: the shortest a trade may live


def _wait(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def _listen(
    tickets: list[str], seen: dict[int, float], ready: threading.Event, stop: threading.Event
) -> None:
    """One asyncio loop holding a WebSocket per user; records the wall-clock
    arrival of each `trade.settled` frame (by trade id)."""
    import websockets

    connected: list[int] = []

    async def one(ticket: str) -> None:
        url = f"ws://127.0.0.1:{PORT}/ws/stream/?ticket={ticket}"
        async with websockets.connect(url, max_size=2**20) as ws:
            await ws.recv()  # hello
            connected.append(1)
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                arrived = time.time()
                frame = json.loads(raw)
                if frame.get("type") == "event" and frame.get("event") == "trade.settled":
                    seen[frame["data"]["id"]] = arrived
                elif frame.get("type") == "heartbeat":
                    await ws.send(json.dumps({"type": "ping"}))

    async def main() -> None:
        tasks = [asyncio.create_task(one(t)) for t in tickets]
        while len(connected) < len(tickets):
            if any(t.done() and t.exception() for t in tasks):
                raise SystemExit("a WebSocket client failed to connect")
            await asyncio.sleep(0.05)
        ready.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())


def _bench(procs: Processes) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection

    from market.models import Instrument
    from market.prices import price_latest
    from realtime.models import Event
    from realtime.services import ticket_create
    from trading.trades import services as trade_services
    from trading.trades.models import Trade
    from trading.trades.services import trade_open, trade_request
    from trading.trades.settlement import trades_settle_due
    from wallets.services import wallet_deposit

    call_command("migrate", verbosity=0)
    Instrument.objects.create(
        symbol=SYMBOL, name="Bench", asset_class="crypto", price_scale=2, calendar="always",
        max_stake=Decimal("10000.00"), feed_source="random_walk",
        feed_params={"start_price": "100.00", "volatility": "0.50"},
    )  # fmt: skip
    User = get_user_model()
    User.objects.bulk_create([User(username=f"bench{i}") for i in range(USERS)])
    users = list(User.objects.order_by("id"))
    for user in users:
        wallet_deposit(user=user, amount=Decimal("90000.00"), currency="USD", idempotency_key="fund")
    connection.close()

    py = sys.executable
    procs.start(
        py, "-m", "realtime.server", "-b", "127.0.0.1", "-p", str(PORT), "--websocket_timeout", "-1",
        "config.asgi:application",
    )  # fmt: skip
    procs.start(
        py, "-m", "celery", "-A", "config", "worker", "--pool", "prefork",
        "--concurrency", str(WORKER_CONCURRENCY), "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    )  # fmt: skip
    procs.start(py, "manage.py", "run_market_feed", "--symbols", SYMBOL)
    _wait(lambda: not price_latest(SYMBOL).stale, timeout=60, what="the feed's first price")

    seen: dict[int, float] = {}
    ready, stop = threading.Event(), threading.Event()
    tickets = [ticket_create(user_id=u.pk) for u in users]
    listener = threading.Thread(target=_listen, args=(tickets, seen, ready, stop), daemon=True)
    listener.start()
    if not ready.wait(120):
        raise SystemExit("WebSocket clients did not connect")

    # This process opens each trade itself (at a chosen instant): its
    # initiation task must not reach the worker, which would open it now.
    trade_services.trade_enqueue = lambda *, trade: None  # type: ignore[assignment]
    # Every trade expires within the second S, its fraction spread over it.
    lead = 30 + TRADES * 0.06  # time to open them all, with room to spare on a loaded machine
    second = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=round(lead))
    expiries: dict[int, datetime] = {}
    open_started = time.perf_counter()
    for i in range(TRADES):
        user = users[i % len(users)]
        expires = second + timedelta(microseconds=(i * 1_000_000) // TRADES)
        queued = trade_request(
            user=user, instrument=SYMBOL, side="buy" if i % 2 else "sell", stake=Decimal("10.00"),
            idempotency_key=f"x{i}", duration=DURATION,
        ).trade  # fmt: skip
        trade = trade_open(trade_id=queued.pk, now=expires - timedelta(seconds=DURATION))
        if trade.status != "open" or trade.expires_at != expires:
            raise SystemExit(
                f"trade {trade.pk} did not open as planned: {trade.status} {trade.failure_reason}"
            )
        expiries[trade.pk] = expires
    open_seconds = time.perf_counter() - open_started
    if datetime.now(UTC) >= second:
        raise SystemExit("opening took longer than the lead; raise it")

    deadline = second.timestamp() + 90
    while len(seen) < len(expiries) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    stop.set()
    listener.join(timeout=10)

    lags = [(seen[pk] - at.timestamp()) * 1000 for pk, at in expiries.items() if pk in seen]
    committed = [
        (created - expiries[event_data["id"]]).total_seconds() * 1000
        for created, event_data in Event.objects.filter(event="trade.settled").values_list(
            "created_at", "data"
        )
        if event_data["id"] in expiries
    ]
    reasons: dict[str, int] = {}
    for reason in Trade.objects.filter(pk__in=list(expiries)).values_list("close_reason", flat=True):
        reasons[reason or "open"] = reasons.get(reason or "open", 0) + 1
    # Where the time went, per settlement batch: when the batch's UPDATE was
    # built (the trades' updated_at) and when its events were written, as
    # milliseconds after the start of the expiry second.
    batches: dict[datetime, int] = {}
    for updated in Trade.objects.filter(pk__in=list(expiries)).values_list("updated_at", flat=True):
        batches[updated] = batches.get(updated, 0) + 1
    events_at = sorted(
        {c for c, d in Event.objects.filter(event="trade.settled").values_list("created_at", "data")}
    )
    sweep = trades_settle_due()
    return {
        "trades": len(expiries),
        "users": len(users),
        "expiry_second": second.isoformat(),
        "opened_in_s": round(open_seconds, 1),
        "settled_frames_seen": len(lags),
        "close_reasons": reasons,
        "expiry_to_settled_frame": percentiles(lags),
        "expiry_to_event_commit": percentiles(committed),
        "batches_after_second_start_ms": [
            {"trades": n, "updated_at": round((at - second).total_seconds() * 1000)}
            for at, n in sorted(batches.items())
        ],
        "event_writes_after_second_start_ms": [
            round((at - second).total_seconds() * 1000) for at in events_at
        ],
        "minute_sweep_afterwards": {
            "settled": sweep.settled,
            "waiting": sweep.waiting,
            "errors": sweep.errors,
        },
        "goal": {
            "p99_ms_at_most": 2000,
            "met": bool(lags) and len(lags) == len(expiries) and max(lags) <= 2000,
        },
        "worker_concurrency": WORKER_CONCURRENCY,
    }


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradevision")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("CHANNEL_PREFIX", f"tvbench{uuid.uuid4().hex[:8]}")
    queue = f"bench-expiry-{os.getpid()}"
    # This process opens the trades, so its after-commit listener sends the
    # expiry task: to the run's queue, like the children.
    os.environ["TEST_TASK_QUEUE"] = queue
    admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_exec(base_url, f'CREATE DATABASE "{BENCH_DB}"')
    url = with_database(base_url, BENCH_DB)
    os.environ["DATABASE_URL"] = url
    procs = Processes({**os.environ, "DJANGO_SETTINGS_MODULE": "bench.trades_settings", "BENCH_QUEUE": queue})
    try:
        result = _bench(procs)
    finally:
        procs.stop_all()
        from django.db import connections

        connections.close_all()
        admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
