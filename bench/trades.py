"""Trade lifecycle benchmark: request latency, request → `trade.opened` on the
socket, and settlement throughput, on a database of its own.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/trades.py

Creates (and at the end drops) the database `tv_bench_trades_<pid>` on the server of
DATABASE_URL, migrates it, and measures:

1. `http`: `POST /api/v1/trades/` (token auth, a fresh Idempotency-Key each)
   against a bare authenticated DRF POST doing one INSERT (`/bench/bare/`),
   through the same server (uvicorn, BENCH_WEB_WORKERS processes, a psycopg
   pool each), BENCH_CLIENTS (50) closed-loop clients for BENCH_SECONDS each.
   Closed loop: latency is mostly clients / throughput (Little's law), so the
   ratio to the baseline is the figure to watch. Goal: p99 <= 25 ms.
2. `opened`: open loop at BENCH_RATE (100) trades/s for BENCH_OPEN_SECONDS,
   one WebSocket per user on /ws/stream/, a Celery worker opening the
   trades: latency from the scheduled send of the request to the
   `trade.opened` frame. Goal: p50 <= 20 ms, p99 <= 100 ms.
3. `settlement`: BENCH_SETTLE_SIZES (the issue's 100000,200000 by default;
   20000,40000 for a quick run)
   open trades, bulk-created
   already expired (their stakes reserved through the wallet service), then
   `trades_settle_due` in BENCH_SETTLE_PROCS processes at once (the minute's
   task plus the next one, which SKIP LOCKED lets run side by side). Goal:
   >= 5,000 trades/s and 200k taking <= 2.2x the time of 100k (issue 15). Also
   reported: CPU ms per trade of the settling processes and their backends.

The load generator runs on the same machine as the servers; all figures are
from one run, so compare them with each other, not with another machine.
Prints JSON.
"""

import json
import os
import queue
import sys
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from http.client import HTTPConnection, HTTPException
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import Processes, admin_exec, percentiles  # noqa: E402
from config.env import with_database  # noqa: E402

# Per run by default: two runs at once (two engineers, or run_all beside a
# hand run) must never drop each other's database.
BENCH_DB = os.environ.get("BENCH_DB", f"tv_bench_trades_{os.getpid()}")
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "50"))
WEB_WORKERS = int(os.environ.get("BENCH_WEB_WORKERS", "2"))
RATE = float(os.environ.get("BENCH_RATE", "100"))
OPEN_SECONDS = float(os.environ.get("BENCH_OPEN_SECONDS", "10"))
OPEN_USERS = int(os.environ.get("BENCH_OPEN_USERS", "20"))
SETTLE_SIZES = [int(x) for x in os.environ.get("BENCH_SETTLE_SIZES", "100000,200000").split(",") if x]
SETTLE_PROCS = int(os.environ.get("BENCH_SETTLE_PROCS", "2"))
SETTLE_USERS = int(os.environ.get("BENCH_SETTLE_USERS", "1000"))
PORT = int(os.environ.get("BENCH_PORT", "8791"))
WORKER_POOL = os.environ.get("BENCH_WORKER_POOL", "prefork")
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
SYMBOL = "BENCH-USD"
PARTS = os.environ.get("BENCH_PARTS", "http,opened,settlement").split(",")


def _wait_http(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/clock/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the web server did not come up")


def _closed_loop(path: str, tokens: list[str], body: dict) -> dict:
    """CLIENTS threads, each a keep-alive connection, for SECONDS."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()
    barrier = threading.Barrier(CLIENTS + 1)
    payload = json.dumps(body)

    def client(i: int) -> None:
        conn = HTTPConnection("127.0.0.1", PORT, timeout=30)
        token = tokens[i % len(tokens)]
        mine: list[float] = []
        codes: dict[int, int] = {}
        barrier.wait()
        while not stop.is_set():
            headers = {
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": uuid.uuid4().hex,
            }
            began = time.perf_counter()
            conn.request("POST", path, body=payload, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - began) * 1000)
            codes[response.status] = codes.get(response.status, 0) + 1
        with lock:
            latencies.extend(mine)
            for code, n in codes.items():
                statuses[code] = statuses.get(code, 0) + n

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    return {
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "statuses": statuses,
        **percentiles(latencies),
    }


def _ws_listener(users_tickets: list[tuple[int, str]], seen: dict[int, float], ready: threading.Event, stop):
    """One asyncio loop holding a WebSocket per user; records when each
    `trade.opened` frame arrives (by trade id)."""
    import asyncio

    import websockets

    async def one(ticket: str) -> None:
        url = f"ws://127.0.0.1:{PORT}/ws/stream/?ticket={ticket}"
        async with websockets.connect(url, max_size=2**20) as ws:
            await ws.recv()  # hello
            ready_count.append(1)
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                frame = json.loads(raw)
                if frame.get("type") == "event" and frame.get("event") == "trade.opened":
                    seen[frame["data"]["id"]] = time.perf_counter()

    ready_count: list[int] = []

    async def main() -> None:
        tasks = [asyncio.create_task(one(t)) for _, t in users_tickets]
        while len(ready_count) < len(users_tickets):
            await asyncio.sleep(0.05)
        ready.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())


def bench_http(users, tokens) -> dict:
    trade = _closed_loop("/api/v1/trades/", tokens, {"instrument": SYMBOL, "side": "buy", "stake": "10.00"})
    bare = _closed_loop("/bench/bare/", tokens, {})
    return {
        "clients": CLIENTS,
        "web_workers": WEB_WORKERS,
        "seconds_each": SECONDS,
        "post_trades": trade,
        "bare_insert": bare,
        "p99_ratio_to_bare": round(trade["p99_ms"] / bare["p99_ms"], 2) if bare.get("p99_ms") else None,
        "throughput_ratio_to_bare": round(trade["requests_per_s"] / bare["requests_per_s"], 2),
    }


def bench_opened(users, tokens, procs: Processes, refresh_price) -> dict:
    from realtime.services import ticket_create

    procs.start(
        sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", WORKER_POOL,
        "--concurrency", str(WORKER_CONCURRENCY),
        "--loglevel", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat",
    )  # fmt: skip
    picked = list(zip(users[:OPEN_USERS], tokens[:OPEN_USERS], strict=True))
    tickets = [(u.pk, ticket_create(user_id=u.pk)) for u, _ in picked]
    seen: dict[int, float] = {}
    ready = threading.Event()
    stop = threading.Event()
    listener = threading.Thread(target=_ws_listener, args=(tickets, seen, ready, stop), daemon=True)
    listener.start()
    if not ready.wait(60):
        raise SystemExit("WebSocket clients did not connect")
    # Warm the worker (first task imports and connects).
    sent: dict[int, float] = {}
    answered: list[float] = []
    total = int(RATE * OPEN_SECONDS)
    jobs: queue.Queue = queue.Queue()
    errors: list[str] = []
    began = time.perf_counter() + 1.0
    for i in range(total):
        jobs.put((i, began + i / RATE))

    def post(conn: HTTPConnection, token: str, i: int) -> tuple[int, dict]:
        headers = {
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"open-{i}",
        }
        body = json.dumps({"instrument": SYMBOL, "side": "buy", "stake": "10.00"})
        conn.request("POST", "/api/v1/trades/", body=body, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read())

    def sender() -> None:
        conn = HTTPConnection("127.0.0.1", PORT, timeout=30)
        while True:
            try:
                i, at = jobs.get_nowait()
            except queue.Empty:
                return
            _, token = picked[i % len(picked)]
            delay = at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                status, data = post(conn, token, i)
            except (OSError, HTTPException):
                # The server closed an idle keep-alive connection: reconnect
                # and send again (the same Idempotency-Key, so at most one trade).
                conn.close()
                conn = HTTPConnection("127.0.0.1", PORT, timeout=30)
                status, data = post(conn, token, i)
            if status != 202:
                errors.append(f"{status} {data}")
                continue
            sent[data["id"]] = at
            answered.append((time.perf_counter() - at) * 1000)

    senders = [threading.Thread(target=sender) for _ in range(24)]
    for t in senders:
        t.start()
    while any(t.is_alive() for t in senders):
        refresh_price()
        time.sleep(1)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len([i for i in sent if i in seen]) < len(sent):
        refresh_price()
        time.sleep(0.2)
    stop.set()
    listener.join(timeout=10)
    latencies = [(seen[i] - at) * 1000 for i, at in sent.items() if i in seen]
    from trading.trades.models import Trade

    # Where the time goes: the 202 itself, and queued -> open in the database
    # (the task's wait in the broker plus its run).
    in_db = [
        (opened - created).total_seconds() * 1000
        for created, opened in Trade.objects.filter(pk__in=list(sent)).values_list("created_at", "opened_at")
        if opened is not None
    ]
    return {
        "request_202": percentiles(answered),
        "created_to_opened_in_db": percentiles(in_db),
        "rate_per_s": RATE,
        "seconds": OPEN_SECONDS,
        "sent": len(sent),
        "opened_seen": len(latencies),
        "request_errors": len(errors),
        **percentiles(latencies),
    }


def _backend_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) of a local PostgreSQL backend, from /proc;
    None when the server is not on this machine or not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _settle_worker(url: str, out) -> None:
    # The parent closed its connections before forking: this child opens its own.
    from django.db import connection

    from trading.trades.settlement import trades_settle_due

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    db_before = _backend_cpu_seconds(backend)
    cpu_before = time.process_time()
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        report = profiler.runcall(trades_settle_due)
        stats = pstats.Stats(profiler, stream=sys.stderr)
        stats.sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative"))
        stats.print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "40")))
    else:
        report = trades_settle_due()
    cpu = time.process_time() - cpu_before
    db_after = _backend_cpu_seconds(backend)
    db_cpu = None if db_before is None or db_after is None else db_after - db_before
    out.put((report.settled, report.errors, report.waiting, cpu, db_cpu))


def bench_settlement(users, inst) -> dict:
    import multiprocessing

    from django.db import connection, connections
    from django.utils import timezone

    from market.models import PriceTick
    from market.prices import price_recorded_mark
    from trading.trades.models import Trade
    from wallets.services import wallet_reserve

    results = {}
    expires = timezone.now() - timedelta(minutes=5)
    PriceTick.objects.get_or_create(instrument=inst, at=expires, defaults={"price": Decimal("101.00")})
    price_recorded_mark(symbols=[SYMBOL], through=expires)
    stake = Decimal("10.00")
    for size in SETTLE_SIZES:
        per_user = size // len(users)
        for user in users:
            wallet_reserve(
                user=user,
                amount=stake * per_user,
                currency="USD",
                reference=f"bench-{size}",
                idempotency_key=f"bench-settle-{size}-{user.pk}",
            )
        rows = [
            Trade(
                user=user,
                instrument=inst,
                side="buy",
                status="open",
                currency="USD",
                stake=stake,
                quantity=Decimal("0.1"),
                duration=timedelta(hours=1),
                entry_price=Decimal("100.00"),
                fee=Decimal("0.01"),
                opened_at=expires - timedelta(hours=1),
                expires_at=expires,
                liquidation_price=Decimal("0"),
                idempotency_key=f"s{size}-{user.pk}-{n}",
                request_fingerprint="bench",
            )
            for user in users
            for n in range(per_user)
        ]
        Trade.objects.bulk_create(rows, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE trading_trade")
        connections.close_all()
        ctx = multiprocessing.get_context("fork")
        out = ctx.Queue()
        began = time.perf_counter()
        procs = [
            ctx.Process(target=_settle_worker, args=(os.environ["DATABASE_URL"], out))
            for _ in range(SETTLE_PROCS)
        ]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=600)
        elapsed = time.perf_counter() - began
        if any(p.exitcode != 0 for p in procs):
            raise SystemExit("a settlement process failed; see the errors above")
        reports = [out.get(timeout=5) for _ in procs]
        settled = sum(r[0] for r in reports)
        db_cpu = [r[4] for r in reports]
        results[str(len(rows))] = {
            "settled": settled,
            "errors": sum(r[1] for r in reports),
            "seconds": round(elapsed, 2),
            "trades_per_s": round(settled / elapsed, 1),
            # CPU per trade of the settling processes and of their PostgreSQL
            # backends: steadier than the wall time on a shared machine.
            "cpu_ms_per_trade": {
                "python": round(sum(r[3] for r in reports) * 1000 / max(settled, 1), 3),
                "postgres": None if None in db_cpu else round(sum(db_cpu) * 1000 / max(settled, 1), 3),
            },
        }
    sizes = [str(s // len(users) * len(users)) for s in SETTLE_SIZES]
    if len(sizes) == 2:
        results["time_ratio"] = round(results[sizes[1]]["seconds"] / results[sizes[0]]["seconds"], 2)
    results["processes"] = SETTLE_PROCS
    return results


def main() -> None:
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradevision")
    # This process (set-up, settlement) uses the test settings: plain
    # connections, safe across fork. The servers it starts use the bench
    # settings (a psycopg pool per process).
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ.setdefault("CHANNEL_PREFIX", f"tvbench{uuid.uuid4().hex[:8]}")
    admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_exec(base_url, f'CREATE DATABASE "{BENCH_DB}"')
    url = with_database(base_url, BENCH_DB)
    os.environ["DATABASE_URL"] = url
    procs = Processes(
        {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.trades_settings",
            "BENCH_QUEUE": f"bench-trades-{os.getpid()}",
        }
    )
    try:
        result = _bench(url, procs)
    finally:
        procs.stop_all()
        from django.db import connections

        connections.close_all()
        admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(json.dumps(result, indent=2))


def _bench(url: str, procs: Processes) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from market.models import Instrument
    from market.prices import price_record
    from wallets.services import wallet_deposit

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_probe (id bigserial PRIMARY KEY, user_id bigint, at timestamptz)")
    inst = Instrument.objects.create(
        symbol=SYMBOL, name="Bench", asset_class="crypto", price_scale=2, calendar="always",
        max_stake=Decimal("10000.00"),
    )  # fmt: skip
    User = get_user_model()
    count = max(SETTLE_USERS, OPEN_USERS)
    User.objects.bulk_create([User(username=f"bench{i}") for i in range(count)])
    users = list(User.objects.order_by("id"))
    tokens = [Token.objects.create(user=u).key for u in users[:CLIENTS]]
    for user in users:
        wallet_deposit(user=user, amount=Decimal("90000.00"), currency="USD", idempotency_key="fund")

    def refresh_price() -> None:
        price_record(prices={SYMBOL: (Decimal("100.00"), timezone.now())})

    refresh_price()
    connection.close()
    result: dict = {}
    if "http" in PARTS or "opened" in PARTS:
        procs.start(
            sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(PORT),
            "--workers", str(WEB_WORKERS), "--loop", "uvloop", "--http", "httptools",
            "--log-level", "warning", "--no-access-log",
        )  # fmt: skip
        _wait_http(PORT)
        if "http" in PARTS:
            result["http"] = bench_http(users, tokens)
        if "opened" in PARTS:
            refresh_price()
            result["opened"] = bench_opened(users, tokens, procs, refresh_price)
        procs.stop_all()
        procs.running.clear()
    if "settlement" in PARTS:
        from trading.trades.models import Trade

        # Leave only the settlement's own trades open.
        Trade.objects.filter(status="open").update(expires_at=timezone.now() + timedelta(days=1))
        result["settlement"] = bench_settlement(users[:SETTLE_USERS], inst)
    return result


if __name__ == "__main__":
    main()
