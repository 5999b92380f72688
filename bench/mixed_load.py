"""Mixed load: many users with open sockets, tickers running, trades requested.

    .venv/bin/python bench/mixed_load.py          # prints one JSON document

Everything runs on this machine in processes this script starts and always
stops: its own Redis (free port), its own PostgreSQL database
(`tv_bench_mixed`, dropped and re-created), the web server (BENCH_WEB_PROCESSES
daphne processes on one port through `realtime.server`, as the Procfile runs
them; 1 by default), one Celery worker
(prefork, 2 children), the market feed (`run_market_feed`, real ticks) and,
in this process, the asyncio clients (`websockets`) and an HTTP request
pool. Production settings (a psycopg pool per process, DEBUG off).

Two phases at the same offered trade rate (open loop: requests start on
their schedule whether or not earlier ones finished):

- `baseline`: only the BENCH_TRADERS users who request trades have a socket;
  no ticker subscribers;
- `mixed`: BENCH_USERS (500) sockets, BENCH_TICKER_USERS of them subscribed
  to the BTC-USD and ETH-USD tickers, the same trade requests.

Per phase: HTTP latency of `POST /api/v1/trades/` from its scheduled start
(p50/p99), request -> `trade.opened` frame latency on the requester's socket
(p50/p99), ticks received per second, CPU seconds of the web processes and
of the worker (in all and per 1,000 trades), and for every user the events
received live against the events stored (missing / duplicated). At the end the staff
health report (`/api/v1/ops/health/`) is read through the same server.

Goals (issue 7, measured against the baselines of the same run): all sockets
connected; no event missing or duplicated; request -> opened p99 <= 100 ms
and HTTP p99 <= 25 ms under the mixed load (the trade goals of
bench/trades.py), and within 2x of the baseline phase.

BENCH_USERS, BENCH_TICKER_USERS, BENCH_TRADERS, BENCH_RATE (trades/s),
BENCH_SECONDS (per phase) tune it; the defaults run in about two minutes.
With BENCH_PROFILE=1 and py-spy installed, the web process is sampled during
the mixed phase and the top functions are reported (BENCH_PROFILE_OUT=path
keeps py-spy's collapsed stacks).
"""

import asyncio
import contextlib
import http.client
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import websockets

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, wait_for_port  # noqa: E402
from config.env import with_database  # noqa: E402
from tests.children import redis_server_binary  # noqa: E402

PY = sys.executable

USERS = int(os.environ.get("BENCH_USERS", "500"))
TICKER_USERS = int(os.environ.get("BENCH_TICKER_USERS", "100"))
TRADERS = int(os.environ.get("BENCH_TRADERS", "50"))
RATE = float(os.environ.get("BENCH_RATE", "20"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
# Web processes on the port, as `./dev.py run` starts them (realtime.server).
WEB_PROCESSES = int(os.environ.get("BENCH_WEB_PROCESSES", "1"))
# The process trees whose CPU each phase reports (set in main).
PIDS: dict[str, int] = {}
PROFILE = os.environ.get("BENCH_PROFILE", "") == "1"
DATABASE = "tv_bench_mixed"
SYMBOLS = ["BTC-USD", "ETH-USD"]
GOALS = {"opened_p99_ms": 100.0, "http_p99_ms": 25.0, "ratio_to_baseline_max": 2.0}


def log(message: str) -> None:
    print(f"[mixed_load] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Processes:
    """Children in their own process groups; `stop_all` always runs."""

    def __init__(self, env: dict[str, str], logdir: Path) -> None:
        self.env = env
        self.logdir = logdir
        self.running: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *cmd: str) -> subprocess.Popen[bytes]:
        out = (self.logdir / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            list(cmd), cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.running):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.running:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.running.clear()


def percentiles(samples: list[float]) -> dict[str, float | int | None]:
    if not samples:
        return {"count": 0, "p50_ms": None, "p99_ms": None}
    ordered = sorted(samples)
    pick = lambda q: round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)  # noqa: E731
    return {"count": len(ordered), "p50_ms": pick(0.50), "p99_ms": pick(0.99), "max_ms": pick(1.0)}


# --- set-up (this process talks to the bench database directly) --------------------


def setup_data(users: int) -> tuple[list[int], dict[int, str], str]:
    import django

    django.setup()
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from wallets.services import wallet_deposit

    user_model = get_user_model()
    user_model.objects.bulk_create([user_model(username=f"mixed{i}", password="!") for i in range(users)])
    staff = user_model.objects.create(username="mixed-staff", password="!", is_staff=True)
    ids = list(user_model.objects.filter(is_staff=False).order_by("id").values_list("id", flat=True))
    tokens = {}
    for user in user_model.objects.filter(pk__in=ids[:TRADERS]):
        wallet_deposit(user=user, amount=Decimal("50000.00"), currency="USD", idempotency_key="fund")
        tokens[user.pk] = Token.objects.create(user=user).key
    staff_token = Token.objects.create(user=staff).key
    from django.db import connections

    connections.close_all()
    return ids, tokens, staff_token


def tickets(user_ids: list[int]) -> dict[int, str]:
    from realtime.services import ticket_create

    return {uid: ticket_create(user_id=uid) for uid in user_ids}


# --- clients ------------------------------------------------------------------------


class Stream:
    """One user's socket: records event seqs and when each trade opened."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self.seqs: list[int] = []
        self.opened: dict[int, float] = {}
        self.ticks = 0
        self.since = 0  # events before the connection are not sent live
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None

    async def open(self, port: int, ticket: str, subscribe: bool) -> None:
        self.ws = await websockets.connect(
            f"ws://127.0.0.1:{port}/ws/stream/?ticket={ticket}", max_size=2**22, open_timeout=30
        )
        hello = json.loads(await self.ws.recv())
        assert hello["type"] == "hello", hello
        self.since = int(hello["last_seq"])
        if subscribe:
            await self.ws.send(json.dumps({"type": "subscribe", "symbols": SYMBOLS}))
        self.task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "tick":
                    self.ticks += 1
                elif kind == "event":
                    self.seqs.append(frame["seq"])
                    if frame["event"] == "trade.opened":
                        self.opened[int(frame["data"]["id"])] = time.perf_counter()
                elif kind == "heartbeat":
                    await self.ws.send('{"type":"ping"}')

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)


_local = threading.local()


def post_trade(port: int, token: str, symbol: str) -> tuple[int, int | None]:
    """POST one trade on this thread's keep-alive connection: (status, trade id)."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"instrument": symbol, "side": random.choice(["buy", "sell"]), "stake": "10.00"})
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "Idempotency-Key": uuid.uuid4().hex,
    }
    try:
        conn.request("POST", "/api/v1/trades/", body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    except (OSError, http.client.HTTPException):
        _local.conn = None
        return 0, None
    trade_id = json.loads(data).get("id") if response.status == 202 else None
    return response.status, trade_id


async def run_phase(
    name: str, port: int, streams: dict[int, Stream], tokens: dict[int, str], pool: ThreadPoolExecutor
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    traders = list(tokens)
    total = int(RATE * SECONDS)
    sent: dict[int, float] = {}  # trade id -> scheduled start
    answered: dict[int, float] = {}  # trade id -> 202 read
    http_latency: list[float] = []
    statuses: dict[int, int] = {}
    ticks_before = sum(s.ticks for s in streams.values())
    cpu_before = {name: cpu_seconds(pid) for name, pid in PIDS.items()}

    async def one(at: float, user_id: int) -> None:
        status, trade_id = await loop.run_in_executor(pool, post_trade, port, tokens[user_id], SYMBOLS[0])
        http_latency.append(time.perf_counter() - at)
        statuses[status] = statuses.get(status, 0) + 1
        if trade_id is not None:
            sent[trade_id] = at
            answered[trade_id] = time.perf_counter()

    started = time.perf_counter()
    jobs = []
    for i in range(total):
        at = started + i / RATE
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        jobs.append(asyncio.ensure_future(one(at, traders[i % len(traders)])))
    await asyncio.gather(*jobs)
    # Let the last openings arrive (bounded).
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        opened = {tid for s in streams.values() for tid in s.opened}
        if set(sent) <= opened:
            break
        await asyncio.sleep(0.1)
    elapsed = time.perf_counter() - started
    opened_at = {tid: t for s in streams.values() for tid, t in s.opened.items()}
    opened_latency = [opened_at[tid] - at for tid, at in sent.items() if tid in opened_at]
    ticks = sum(s.ticks for s in streams.values()) - ticks_before
    cpu = {name: round(cpu_seconds(pid) - cpu_before[name], 2) for name, pid in PIDS.items()}
    log(f"{name}: {len(sent)} trades accepted, {len(opened_latency)} opened frames")
    return {
        "web_processes": WEB_PROCESSES,
        "cpu_s": cpu,
        # Every trade's request, its events' frames and (mixed) the ticks.
        "cpu_s_per_1000_trades": {k: round(1000 * v / max(1, len(sent)), 2) for k, v in cpu.items()},
        "frames_delivered": len(opened_latency) + ticks,
        "sockets": len(streams),
        "ticker_subscribers": sum(1 for s in streams.values() if s.user_id in _subscribed),
        "offered_trades_per_s": RATE,
        "trades_requested": total,
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "http": percentiles(http_latency),
        "opened": percentiles(opened_latency),
        "opened_missing": len(sent) - len(opened_latency),
        "where_it_went": await asyncio.to_thread(segments, sent, answered, opened_at),
        "ticks_received_per_s": round(ticks / elapsed, 1),
    }


_subscribed: set[int] = set()


def segments(sent: dict[int, float], answered: dict[int, float], framed: dict[int, float]) -> dict[str, Any]:
    """Where request → `trade.opened` went, per trade, from the client's clock
    and the trade's own timestamps (one machine, one clock; `perf_counter`
    mapped onto the wall clock): the request until the trade row is made
    (`created_at`: HTTP, auth, throttles, checks), from there to the 202 read
    (the hold, events, commit, the broker send, the response), from the row to
    `opened_at` (commit, broker, the worker's pickup, the open's work before
    its timestamp), and from `opened_at` to the frame (the rest of the open,
    its commit, the publish and the socket send)."""
    from trading.trades.models import Trade

    wall = time.time() - time.perf_counter()
    measured = [pk for pk in framed if pk in sent]  # not the warm-up's
    rows = Trade.objects.filter(pk__in=measured).values_list("pk", "created_at", "opened_at")
    parts: dict[str, list[float]] = {
        "request_to_row": [],
        "row_to_202": [],
        "row_to_opened_at": [],
        "opened_at_to_frame": [],
    }
    for pk, created, opened in rows:
        if opened is None:
            continue
        created_s, opened_s = created.timestamp(), opened.timestamp()
        parts["request_to_row"].append(created_s - (sent[pk] + wall))
        parts["row_to_202"].append(answered[pk] + wall - created_s)
        parts["row_to_opened_at"].append(opened_s - created_s)
        parts["opened_at_to_frame"].append(framed[pk] + wall - opened_s)
    from django.db import connections

    connections.close_all()
    return {name: percentiles(values) for name, values in parts.items()}


def events_check(url: str, streams: dict[int, Stream]) -> dict[str, int]:
    """Every user's received seqs against the events stored for them."""
    with psycopg.connect(url) as conn:
        last = dict(conn.execute("SELECT user_id, last_seq FROM realtime_eventcounter").fetchall())
    missing = duplicated = 0
    for uid, stream in streams.items():
        expected = set(range(stream.since + 1, int(last.get(uid, 0)) + 1))
        got = stream.seqs
        duplicated += len(got) - len(set(got))
        missing += len(expected - set(got))
    live = sum(int(last.get(uid, 0)) - s.since for uid, s in streams.items())
    return {"events_expected_live": live, "missing": missing, "duplicated": duplicated}


def health(port: int, token: str) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/v1/ops/health/", headers={"Authorization": f"Token {token}"})
    report = json.loads(conn.getresponse().read())
    components = report["components"]
    return {
        "status": report["status"],
        "per_component": {name: c["status"] for name, c in components.items()},
        "websocket_connections": components["websockets"].get("open_connections"),
        "events_delivered": components["websockets"].get("events_delivered"),
        "workers_online": components["workers"].get("count"),
    }


def profile_start(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    if not PROFILE or not Path(spy).exists():
        return None
    return subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--duration", str(int(SECONDS)), "--format", "raw",
         "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


PROJECT = ("trading/", "realtime/", "wallets/", "ops/", "config/", "accounts/", "frontend/")


def _frame_name(frame: str) -> str:
    """`function (path/file.py:line)` without the line: samples of a function add up."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


def profile_top(path: Path, count: int = 12) -> dict[str, list[dict[str, Any]]]:
    """From py-spy's collapsed stacks: self time per function, and the time
    spent inside each function of the project's own code (inclusive)."""
    if not path.exists():
        return {}
    own: dict[str, int] = {}
    inside: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        n = int(samples)
        frames = [_frame_name(f) for f in stack.split(";")]
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for name in set(frames):
            if name.partition(" (")[2].startswith(PROJECT):
                inside[name] = inside.get(name, 0) + n
        total += n

    def top(counts: dict[str, int]) -> list[dict[str, Any]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:count]
        return [{"function": name, "pct": round(100 * n / total, 1)} for name, n in ranked]

    return {"self": top(own), "project_inclusive": top(inside), "samples": [{"total": total}]}


async def orchestrate(port: int, url: str, web_pid: int, workdir: Path) -> dict[str, Any]:
    user_ids, tokens, staff_token = await asyncio.to_thread(setup_data, USERS)
    result: dict[str, Any] = {
        "config": {"users": USERS, "ticker_users": TICKER_USERS, "traders": TRADERS, "rate": RATE,
                   "seconds_per_phase": SECONDS},
    }  # fmt: skip
    pool = ThreadPoolExecutor(max_workers=16)
    loop = asyncio.get_running_loop()
    streams: dict[int, Stream] = {}
    try:
        traders = list(tokens)
        for uid, ticket in (await asyncio.to_thread(tickets, traders)).items():
            streams[uid] = Stream(uid)
            await streams[uid].open(port, ticket, subscribe=False)
        # Warm-up (not measured): first requests pay for imports, pools, caches.
        for uid in traders[:10]:
            await loop.run_in_executor(pool, post_trade, port, tokens[uid], SYMBOLS[0])
        await asyncio.sleep(1)
        result["baseline"] = await run_phase("baseline", port, streams, tokens, pool)

        others = [uid for uid in user_ids if uid not in streams]
        _subscribed.update(others[:TICKER_USERS])
        began = time.perf_counter()
        failed = 0
        issued = await asyncio.to_thread(tickets, others)

        async def connect(uid: int) -> None:
            nonlocal failed
            stream = Stream(uid)
            try:
                await stream.open(port, issued[uid], subscribe=uid in _subscribed)
                streams[uid] = stream
            except (OSError, websockets.WebSocketException, TimeoutError, AssertionError):
                failed += 1

        for start in range(0, len(others), 50):
            await asyncio.gather(*(connect(uid) for uid in others[start : start + 50]))
        result["connect"] = {
            "sockets": len(streams),
            "failed": failed,
            "connects_per_s": round(len(others) / (time.perf_counter() - began), 1),
        }
        await asyncio.sleep(2)
        spy = profile_start(web_pid, workdir / "web.pyspy")
        result["mixed"] = await run_phase("mixed", port, streams, tokens, pool)
        if spy is not None:
            spy.wait(timeout=60)
            result["profile_web"] = profile_top(workdir / "web.pyspy")
            if os.environ.get("BENCH_PROFILE_OUT"):
                shutil.copy(workdir / "web.pyspy", os.environ["BENCH_PROFILE_OUT"])
        await asyncio.sleep(1)
        result["events"] = await asyncio.to_thread(events_check, url, streams)
        result["health"] = await asyncio.to_thread(health, port, staff_token)
    finally:
        await asyncio.gather(*(s.close() for s in streams.values()))
        pool.shutdown(wait=False, cancel_futures=True)

    base, mixed = result["baseline"], result["mixed"]

    def ratio(part: str) -> float | None:
        a, b = mixed[part]["p99_ms"], base[part]["p99_ms"]
        return round(a / b, 2) if a and b else None

    result["ratios_to_baseline"] = {"opened_p99": ratio("opened"), "http_p99": ratio("http")}
    result["goals"] = {
        **GOALS,
        "met": {
            "all_sockets_connected": result["connect"]["failed"] == 0 and len(streams) == USERS,
            "no_event_missing_or_duplicated": result["events"]["missing"] == 0
            and result["events"]["duplicated"] == 0,
            "opened_p99": (mixed["opened"]["p99_ms"] or 1e9) <= GOALS["opened_p99_ms"],
            "http_p99": (mixed["http"]["p99_ms"] or 1e9) <= GOALS["http_p99_ms"],
            "within_2x_of_baseline": all(
                r is not None and r <= GOALS["ratio_to_baseline_max"]
                for r in result["ratios_to_baseline"].values()
            ),
        },
    }
    return result


def main() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    redis_binary = redis_server_binary()
    pg = os.environ.get("BENCH_PG") or os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
    url = with_database(pg, DATABASE)
    workdir = Path(tempfile.mkdtemp(prefix="tv-bench-mixed-"))
    redis_port, web_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "bench-only-not-a-secret-" + uuid.uuid4().hex,
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": url,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CHANNEL_PREFIX": "benchmixed",
        "CACHE_PREFIX": "benchmixed",
        "THROTTLE_TRADES": "100000/min",
        "THROTTLE_USER": "100000/min",
        "PYTHONPATH": str(ROOT),
    }
    admin = with_database(pg, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    procs = Processes(env, workdir)
    started = time.monotonic()
    try:
        procs.start("redis", redis_binary, "--port", str(redis_port), "--save", "", "--appendonly", "no",
                    "--dir", str(workdir))  # fmt: skip
        wait_for_port(redis_port)
        subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        web = procs.start(
            *("web", PY, "-m", "realtime.server", "--processes", str(WEB_PROCESSES)),
            *("-b", "127.0.0.1", "-p", str(web_port), "--websocket_timeout", "-1", "config.asgi:application"),
        )
        worker = [PY, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "2"]
        celery = procs.start(
            "worker", *worker, "--loglevel", "WARNING", "--without-gossip", "--without-mingle"
        )
        PIDS.update(web=web.pid, worker=celery.pid)
        procs.start("feed", PY, "manage.py", "run_market_feed", "--symbols", ",".join(SYMBOLS))
        wait_for_port(web_port)
        os.environ.update(env)
        result = asyncio.run(orchestrate(web_port, url, web.pid, workdir))
        result["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(result, indent=2))
    finally:
        procs.stop_all()
        from django.db import connections

        with contextlib.suppress(Exception):
            connections.close_all()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
