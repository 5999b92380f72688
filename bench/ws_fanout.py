"""WebSocket fan-out benchmark: TradeVision's stream against a bare relay.

    .venv/bin/python bench/ws_fanout.py            # prints one JSON document

Everything runs on this machine, in processes this script starts and stops:
its own Redis (free port), its own PostgreSQL database (`tv_bench_ws`,
dropped and re-created), the web server (daphne `config.asgi:application`,
or uvicorn with `--server uvicorn` if installed), a publisher process and,
in this process, the WebSocket clients (one user each).

Phases, each on the real stack and then on bench/bare_relay.py (websockets +
one Redis pub/sub connection) with the same clients and schedule:
- `rate`: events offered at a fixed rate (open loop: each is sent on its
  schedule whether or not earlier ones finished), one per user in turn;
  reports p50/p99 latency from commit (the publisher's clock just before the
  commit) to receipt by the client, and how many arrived;
- `fast`: events published as fast as the publisher threads can (`--per-tx`
  events per transaction, default 1); reports
  delivered events/s (events received / time from the first commit to the
  last receipt).
Real stack only: `lost_live` (seqs a client never received live) and
`lost_after_resume` (still missing after each such client reconnects with
`since=`; the design's guarantee is 0). Then `idle`: one fresh server process
holds `--idle` connections; its RSS growth per connection is reported.
Latency is wall-clock time of one machine (`time.time()` in both processes).
"""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import cpu_seconds, wait_for_port  # noqa: E402
from config.env import with_database  # noqa: E402
from tests.children import redis_server_binary  # noqa: E402

PY = sys.executable
CONNECT_CAP_SECONDS = float(os.environ.get("BENCH_CONNECT_CAP", "150"))


# --- processes --------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PROCESSES: list[subprocess.Popen[bytes]] = []


def log(message: str) -> None:
    """Progress on stderr; the result is the JSON on stdout."""
    print(f"[ws_fanout {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def spawn(cmd: list[str], env: dict[str, str], *, quiet: bool = True) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL if quiet else None,
        stderr=subprocess.DEVNULL if quiet else None,
        start_new_session=True,
    )
    PROCESSES.append(process)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def rss_kb_tree(pid: int) -> int:
    """RSS of a process and its children (the launcher of several web processes)."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(c) for c in children.read_text().split()] if children.exists() else []
    return rss_kb(pid) + sum(rss_kb_tree(kid) for kid in kids)


WEB_PROCESSES = 1


def server_cmd(kind: str, port: int) -> list[str]:
    if kind == "uvicorn":
        server = ["uvicorn", "config.asgi:application", "--log-level", "warning", "--ws-max-size", "65536"]
        return [PY, "-m", *server, "--port", str(port)]
    # As the Procfile runs it: WEB_PROCESSES daphne processes on one socket.
    return [
        *(PY, "-m", "realtime.server", "--processes", str(WEB_PROCESSES)),
        *("-b", "127.0.0.1", "-p", str(port), "--websocket_timeout", "-1"),
        *("--websocket-max-message-size", "65536", "config.asgi:application"),
    ]


# --- database and users -----------------------------------------------------


def database_create(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def users_create(count: int) -> list[int]:
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    user_model.objects.bulk_create(
        [user_model(username=f"bench{i}", password="!") for i in range(count)], batch_size=2000
    )
    return list(user_model.objects.order_by("id").values_list("id", flat=True))


# --- publisher (bench/ws_publisher.py, a separate process) ----------------


def run_publisher(
    env: dict[str, str],
    kind: str,
    phase: str,
    *,
    rate: int,
    count: int,
    threads: int,
    users_file: str,
    seq_base: int,
    per_tx: int = 1,
) -> dict[str, Any]:
    cmd = [PY, str(ROOT / "bench" / "ws_publisher.py"), "--kind", kind, "--phase", phase]
    cmd += ["--rate", str(rate), "--count", str(count), "--threads", str(threads), "--per-tx", str(per_tx)]
    cmd += ["--users-file", users_file, "--seq-base", str(seq_base)]
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=240)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- clients (this process) -------------------------------------------------


class Clients:
    """N WebSocket clients, one per user, recording each event's latency."""

    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.received: dict[str, int] = defaultdict(int)
        self.first_commit: dict[str, float] = {}
        self.last_receipt: dict[str, float] = {}
        self.seqs: dict[int, list[int]] = defaultdict(list)
        self.hello_seq: dict[int, int] = {}
        self.sockets: dict[int, Any] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.failed = 0

    def record(self, user_id: int, raw: str) -> None:
        now = time.time()
        frame = json.loads(raw)
        if frame.get("type") != "event":
            return
        if "data" in frame:
            phase, sent_at = frame["data"]["title"], float(frame["data"]["body"])
        else:
            phase, sent_at = frame["phase"], float(frame["t"])
        self.latency[phase].append(now - sent_at)
        self.received[phase] += 1
        self.first_commit[phase] = min(self.first_commit.get(phase, sent_at), sent_at)
        self.last_receipt[phase] = max(self.last_receipt.get(phase, now), now)
        self.seqs[user_id].append(int(frame["seq"]))

    async def _one(
        self, user_id: int, url: Callable[[], str], ready: asyncio.Semaphore, connected: list[int]
    ) -> None:
        import websockets

        try:
            async with ready:
                # The URL (with its 30-second ticket) is made when its turn comes.
                ws = await websockets.connect(url(), ping_interval=None, max_size=2**22, open_timeout=120)
                hello = json.loads(await asyncio.wait_for(ws.recv(), 60))
                if hello.get("type") != "hello":
                    raise RuntimeError(hello)
                self.hello_seq[user_id] = int(hello.get("last_seq", 0))
            self.sockets[user_id] = ws
            connected.append(user_id)
            async for raw in ws:
                self.record(user_id, raw)
        except Exception:
            if user_id not in self.sockets:
                self.failed += 1

    async def connect(self, urls: dict[int, Callable[[], str]], parallel: int = 50) -> float:
        ready = asyncio.Semaphore(parallel)
        connected: list[int] = []
        if not any(t.get_name() == "pinger" for t in self.tasks):
            self.tasks.append(asyncio.create_task(self._pinger(), name="pinger"))
        t0 = time.monotonic()
        self.tasks += [asyncio.ensure_future(self._one(u, url, ready, connected)) for u, url in urls.items()]
        # Bounded: connecting stops counting after CONNECT_CAP_SECONDS.
        deadline = time.monotonic() + CONNECT_CAP_SECONDS
        while len(connected) + self.failed < len(urls) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return len(connected) / (time.monotonic() - t0)

    async def _pinger(self) -> None:
        # The server closes a connection silent for 3 heartbeats (60 s).
        while True:
            await asyncio.sleep(15)
            await self.ping_all()

    async def ping_all(self) -> None:
        for ws in list(self.sockets.values()):
            with contextlib.suppress(Exception):
                await ws.send('{"type":"ping"}')

    async def wait_for(self, phase: str, expected: int, *, idle: float = 3.0, cap: float = 120.0) -> None:
        deadline = time.monotonic() + cap
        last, since = -1, time.monotonic()
        while self.received[phase] < expected and time.monotonic() < deadline:
            if self.received[phase] != last:
                last, since = self.received[phase], time.monotonic()
            elif time.monotonic() - since > idle:
                return
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for ws in list(self.sockets.values()):
            with contextlib.suppress(Exception):
                await ws.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.sockets.clear()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def phase_report(
    clients: Clients, phase: str, offered: int, pub: dict[str, Any], server_cpu: float
) -> dict[str, Any]:
    lat = clients.latency[phase]
    span = clients.last_receipt.get(phase, 0) - clients.first_commit.get(phase, 0)
    delivered = clients.received[phase]
    return {
        "offered": offered,
        "published": pub["sent"],
        "publisher_seconds": pub["seconds"],
        "publisher_late": pub["late"],
        "delivered": clients.received[phase],
        "delivered_per_s": round(clients.received[phase] / span, 1) if span > 0 else None,
        "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
        "p99_ms": round(1000 * (percentile(lat, 0.99) or 0), 1) if lat else None,
        # The server's process tree (every web process), publisher excluded.
        "server_cpu_s": round(server_cpu, 2),
        "server_cpu_s_per_1000_delivered": round(1000 * server_cpu / delivered, 3) if delivered else None,
    }


# --- the run ----------------------------------------------------------------


async def run_stack(
    kind: str, env: dict[str, str], args: argparse.Namespace, users: list[int], users_file: str
) -> dict[str, Any]:

    port = free_port()
    if kind == "bare":
        server = spawn([PY, "bench/bare_relay.py", "--port", str(port), "--redis", env["REDIS_URL"]], env)
        urls = {u: _bare_url(port, u) for u in users}
    else:
        server = spawn(server_cmd(kind, port), env)
        urls = {u: _stream_url(port, u) for u in users}
    wait_for_port(port)
    clients = Clients()
    try:
        log(f"{kind}: connecting {len(urls)} clients")
        connect_rate = await clients.connect(urls)
        log(f"{kind}: {len(clients.sockets)} connected, {clients.failed} failed; rate phase")
        publisher = "bare" if kind == "bare" else "ours"
        fast_publisher = "bare" if kind == "bare" else ("many" if args.publish_many else "ours")
        report: dict[str, Any] = {
            "clients": len(clients.sockets),
            "connect_failed": clients.failed,
            "connects_per_s": round(connect_rate, 1),
        }
        offered = args.rate * args.rate_seconds
        cpu = cpu_seconds(server.pid)
        pub = await asyncio.to_thread(
            run_publisher,
            env,
            publisher,
            "rate",
            rate=args.rate,
            count=offered,
            threads=args.threads,
            users_file=users_file,
            seq_base=0,
        )
        await clients.wait_for("rate", pub["sent"])
        log(f"{kind}: rate phase done ({clients.received['rate']} received); fast phase")
        report["rate"] = phase_report(clients, "rate", offered, pub, cpu_seconds(server.pid) - cpu)
        await clients.ping_all()
        base = offered // len(users)
        cpu = cpu_seconds(server.pid)
        pub = await asyncio.to_thread(
            run_publisher,
            env,
            fast_publisher,
            "fast",
            rate=0,
            count=args.burst,
            threads=args.threads,
            users_file=users_file,
            seq_base=base,
            per_tx=args.per_tx,
        )
        await clients.wait_for("fast", pub["sent"])
        log(f"{kind}: fast phase done ({clients.received['fast']} received)")
        report["fast"] = phase_report(clients, "fast", args.burst, pub, cpu_seconds(server.pid) - cpu)
        report["server_rss_mb"] = round(rss_kb(server.pid) / 1024, 1)
        if kind != "bare":
            report.update(await loss_check(clients, urls, port))
        return report
    finally:
        await clients.close()
        stop(server)


def _stream_url(port: int, user_id: int, since: int | None = None) -> Callable[[], str]:
    from realtime.services import ticket_create

    def make() -> str:
        url = f"ws://127.0.0.1:{port}/ws/stream/?ticket={ticket_create(user_id=user_id)}"
        return url if since is None else f"{url}&since={since}"

    return make


def _bare_url(port: int, user_id: int) -> Callable[[], str]:
    return lambda: f"ws://127.0.0.1:{port}/?user={user_id}"


async def loss_check(clients: Clients, urls: dict[int, Callable[[], str]], port: int) -> dict[str, Any]:
    """Seqs never received live, then what is still missing after resume."""
    import websockets

    from realtime.models import EventCounter

    last = await asyncio.to_thread(lambda: dict(EventCounter.objects.values_list("user_id", "last_seq")))
    lost_live, duplicates, still_missing = 0, 0, 0
    for user_id in urls:
        got = clients.seqs.get(user_id, [])
        duplicates += len(got) - len(set(got))
        # What this run published: after the seq `hello` announced.
        expected = set(range(clients.hello_seq.get(user_id, 0) + 1, last.get(user_id, 0) + 1))
        missing = expected - set(got)
        lost_live += len(missing)
        if not missing:
            continue
        since = min(missing) - 1
        url = _stream_url(port, user_id, since)()
        replayed: list[int] = []
        async with websockets.connect(url, max_size=2**22) as ws:
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if frame["type"] == "event":
                    replayed.append(frame["seq"])
                if frame["type"] in ("resumed", "resync_required"):
                    break
        still_missing += len(missing - set(replayed))
    return {"lost_live": lost_live, "duplicates": duplicates, "lost_after_resume": still_missing}


async def run_idle(kind: str, env: dict[str, str], users: list[int]) -> dict[str, Any]:

    port = free_port()
    server = spawn(server_cmd(kind, port), env)
    wait_for_port(port)
    clients = Clients()
    try:
        first = {users[0]: _stream_url(port, users[0])}
        await clients.connect(first)
        await asyncio.sleep(1.0)
        before = rss_kb_tree(server.pid)
        rest = {u: _stream_url(port, u) for u in users[1:]}
        log(f"idle: connecting {len(rest)} clients")
        rate = await clients.connect(rest, parallel=100)
        log(f"idle: {len(clients.sockets)} connected, {clients.failed} failed")
        await asyncio.sleep(2.0)
        held = sum(1 for ws in clients.sockets.values() if ws.state.name == "OPEN")
        after = rss_kb_tree(server.pid)
        return {
            "web_processes": WEB_PROCESSES,
            "connections_held": held,
            "connect_failed": clients.failed,
            "connects_per_s": round(rate, 1),
            "rss_mb": round(after / 1024, 1),
            "rss_kb_per_connection": round((after - before) / max(1, held - 1), 1),
        }
    finally:
        await clients.close()
        stop(server)


async def orchestrate(
    args: argparse.Namespace, env: dict[str, str], users: list[int], users_file: str
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "config": {
            k: getattr(args, k)
            for k in (
                *(
                    "clients",
                    "rate",
                    "rate_seconds",
                    "burst",
                    "threads",
                    "idle",
                    "server",
                    "per_tx",
                    "publish_many",
                ),
                *("web_processes", "idle_only"),
            )
        }
    }
    fanout_users = users[: args.clients]
    Path(users_file).write_text(" ".join(map(str, fanout_users)))
    servers = ["daphne", "uvicorn"] if args.server == "both" else [args.server]
    if args.idle_only:
        result[f"idle_{servers[0]}"] = await run_idle(servers[0], env, users[: args.idle])
        return result
    for kind in servers:
        result[kind] = await run_stack(kind, env, args, fanout_users, users_file)
    result["bare_relay"] = await run_stack("bare", env, args, fanout_users, users_file)
    bare = result["bare_relay"]
    for kind in servers:
        ours = result[kind]
        result[kind]["ratios"] = {
            "fast_throughput_vs_bare": _ratio(
                ours["fast"]["delivered_per_s"], bare["fast"]["delivered_per_s"]
            ),
            "rate_p99_vs_bare": _ratio(ours["rate"]["p99_ms"], bare["rate"]["p99_ms"]),
            "rate_p50_vs_bare": _ratio(ours["rate"]["p50_ms"], bare["rate"]["p50_ms"]),
        }
    if args.idle:
        result[f"idle_{servers[0]}"] = await run_idle(servers[0], env, users[: args.idle])
    return result


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=1000, help="events/s offered in the `rate` phase")
    parser.add_argument("--rate-seconds", type=int, default=5)
    parser.add_argument("--burst", type=int, default=10000, help="events in the `fast` phase")
    parser.add_argument("--threads", type=int, default=3, help="publisher threads")
    parser.add_argument(
        "--idle",
        type=int,
        default=int(os.environ.get("BENCH_WS_IDLE", "10000")),
        help="idle connections to hold (0: skip); the issue's goal is 10,000",
    )
    parser.add_argument("--per-tx", type=int, default=1, help="events per transaction in the `fast` phase")
    parser.add_argument(
        "--publish-many",
        action="store_true",
        help="the `fast` phase publishes with publish_many (one statement, one send per transaction)",
    )
    parser.add_argument("--server", choices=["daphne", "uvicorn", "both"], default="daphne")
    parser.add_argument(
        "--web-processes",
        type=int,
        default=1,
        help="daphne processes on the port (more than 1: `python -m realtime.server --processes N`)",
    )
    parser.add_argument("--idle-only", action="store_true", help="only the idle phase (accept rate, RSS)")
    parser.add_argument("--database", default="tv_bench_ws")
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG")
        or os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x"),
        help="a PostgreSQL URL of the server to use (its database name is replaced)",
    )
    args = parser.parse_args()
    global WEB_PROCESSES
    WEB_PROCESSES = args.web_processes

    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    redis_binary = redis_server_binary()
    workdir = tempfile.mkdtemp(prefix="tv-bench-ws-")
    redis_port = free_port()
    env = {
        **os.environ,
        # Production settings (a psycopg pool per process, DEBUG off), minus
        # HTTPS, which loopback does not have.
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "bench-only-not-a-secret",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": with_database(args.pg, args.database),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CHANNEL_PREFIX": "benchws",
        "CACHE_PREFIX": "benchws",
        "PYTHONPATH": str(ROOT),
    }
    started = time.monotonic()
    try:
        spawn(
            [redis_binary, "--port", str(redis_port), "--save", "", "--appendonly", "no", "--dir", workdir],
            env,
        )
        wait_for_port(redis_port)
        database_create(with_database(args.pg, "postgres"), args.database)
        subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        os.environ.update(env)
        import django

        django.setup()
        users = users_create(max(args.clients, args.idle))
        result = asyncio.run(orchestrate(args, env, users, str(Path(workdir) / "users.txt")))
        result["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(result, indent=2))
    finally:
        from django.db import connections

        connections.close_all()
        for process in reversed(PROCESSES):
            stop(process)
        with contextlib.suppress(Exception):
            database_drop(with_database(args.pg, "postgres"), args.database)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
