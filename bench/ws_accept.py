"""Reconnect storm: how fast one web process accepts new stream sockets.

    .venv/bin/python bench/ws_accept.py                # prints one JSON document
    .venv/bin/python bench/ws_accept.py --profile      # + py-spy of the server

A process holding 10,000 sockets that restarts sends all of them to the
others at once (issue 12); what bounds their return is the accept rate. Each
connection here is what a returning browser does: a single-use ticket, the
handshake, the `hello` frame with `last_seq` (the time ends when the client
has read `hello`).

Everything runs on this machine in processes the script starts: its own Redis
(free port), its own database (`tv_bench_accept`, re-created), one web process
(daphne `config.asgi:application`, production settings) or `--web-processes`
N behind one port, and `--client-processes` load generators (this file with
`--client`). Two baselines, in the same run with the same clients:
`bare`, bench/bare_relay.py, a `websockets` server that subscribes a Redis
channel and sends a hello (the least work an accept can be), and `daphne`,
the stream's own web server serving bench/floor_app.py, which only accepts
and says hello (the server's share of an accept, apart from the app's).
A third baseline is the stream itself with CPython's own garbage-collector
thresholds (`stream_python_gc`: `WEB_GC_THRESHOLDS=python`, nothing frozen;
realtime/collector.py says why the web process changes them).
`--repeat N` runs the two stream servers N times, alternated, and reports
every run's figure and the median (this machine's noise is ±15 %).

Reported per server: accepts/s (wall), and the server's own CPU seconds per
1,000 accepts (its process tree, from /proc). The load generators share this
machine's cores, so the wall rate is a lower bound of what a process can do;
`accepts_per_server_cpu_second` is the rate one process reaches with a core to
itself, the figure the capacity plan (docs/scaling.md) uses.
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import admin_exec, cpu_seconds, wait_for_port  # noqa: E402
from config.env import with_database  # noqa: E402
from tests.children import free_port, redis_server_binary  # noqa: E402

PY = sys.executable
# py-spy's raw samples are kept here for a closer look (flamegraph.pl, speedscope).
PROFILE_DIR = Path(tempfile.gettempdir())


def log(message: str) -> None:
    print(f"[ws_accept {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the load generator (a child process: --client) ---------------------------


async def client_main(args: argparse.Namespace) -> None:
    """Open one socket per user listed on stdin's first line, `--parallel` at
    a time; print when they all read `hello`; hold them until stdin closes."""
    import websockets

    users = [int(u) for u in sys.stdin.readline().split()]
    if args.kind == "stream":
        import django

        django.setup()
        from realtime.services import ticket_create

        def url(user: int) -> str:
            return f"ws://127.0.0.1:{args.port}/ws/stream/?ticket={ticket_create(user_id=user)}"
    else:

        def url(user: int) -> str:
            return f"ws://127.0.0.1:{args.port}/?user={user}"

    gate = asyncio.Semaphore(args.parallel)
    sockets: list[Any] = []
    failed = 0
    errors: dict[str, int] = {}

    async def one(user: int) -> None:
        nonlocal failed
        async with gate:
            try:
                ws = await websockets.connect(url(user), ping_interval=None, open_timeout=60)
                hello = json.loads(await asyncio.wait_for(ws.recv(), 60))
                assert hello["type"] == "hello", hello
                sockets.append(ws)
            except Exception as exc:  # counted: the report says how many failed, and why
                failed += 1
                why = f"{type(exc).__name__}: {str(exc)[:80]}"
                errors[why] = errors.get(why, 0) + 1

    started = time.time()
    cpu = time.process_time()
    await asyncio.gather(*(one(user) for user in users))
    print(
        json.dumps(
            {
                "connected": len(sockets),
                "failed": failed,
                "errors": errors,
                "started": started,
                "ended": time.time(),
                "cpu_s": time.process_time() - cpu,
            }
        ),
        flush=True,
    )
    await asyncio.to_thread(sys.stdin.read)  # hold the sockets until told
    for ws in sockets:
        await ws.close()


# --- the run ------------------------------------------------------------------


def server_command(kind: str, port: int, redis_url: str, processes: int) -> list[str]:
    if kind == "bare":
        return [PY, str(ROOT / "bench" / "bare_relay.py"), "--port", str(port), "--redis", redis_url]
    # As the Procfile starts it (./dev.py run); `daphne` serves bench/floor_app.py.
    app = "bench.floor_app:application" if kind == "daphne" else "config.asgi:application"
    return [
        *(PY, "-m", "realtime.server", "--processes", str(processes), "-b", "127.0.0.1", "-p", str(port)),
        *("--websocket_timeout", "-1", "--websocket-max-message-size", "65536", app),
    ]


def py_spy_start(pid: int, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    if not Path(spy).exists():
        return None
    command = [spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--nonblocking"]
    command += ["--rate", "1000"]  # 100 (the default) leaves a 3,000-accept storm a few hundred samples
    return subprocess.Popen(
        [*command, "--subprocesses", "--gil"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


# The servers measured: each one's clients (which URL they open) and settings.
CLIENT_KIND = {"bare": "bare", "daphne": "daphne", "stream": "stream", "stream_python_gc": "stream"}
SERVER_ENV = {"stream_python_gc": {"WEB_GC_THRESHOLDS": "python"}}


def storm(
    kind: str, args: argparse.Namespace, env: dict[str, str], users: list[int], workdir: Path
) -> dict[str, Any]:
    port = free_port()
    server = subprocess.Popen(
        server_command(kind, port, env["REDIS_URL"], args.web_processes),
        cwd=ROOT,
        env={**env, **SERVER_ENV.get(kind, {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    clients: list[subprocess.Popen[str]] = []
    spy = None
    try:
        wait_for_port(port)
        # Warm-up (not counted): imports, pools and the first queries.
        warm = run_clients(CLIENT_KIND[kind], port, args, env, [users[: args.warm]], clients)
        cpu_before = cpu_seconds(server.pid)
        if args.profile:
            spy = py_spy_start(server.pid, PROFILE_DIR / f"ws_accept-{kind}.pyspy")
            time.sleep(1.0)  # py-spy attaches before the storm starts
        shares = [users[args.warm + n :: args.client_processes] for n in range(args.client_processes)]
        reports = run_clients(CLIENT_KIND[kind], port, args, env, shares, clients)
        server_cpu = cpu_seconds(server.pid) - cpu_before
        if spy is not None:
            spy.send_signal(2)
            spy.wait(timeout=60)
        connected = sum(r["connected"] for r in reports)
        seconds = max(r["ended"] for r in reports) - min(r["started"] for r in reports)
        result: dict[str, Any] = {
            "accepted": connected,
            "failed": sum(r["failed"] for r in reports) + sum(r["failed"] for r in warm),
            "errors": {why: n for r in [*warm, *reports] for why, n in r["errors"].items()},
            "seconds": round(seconds, 2),
            "accepts_per_s": round(connected / seconds, 1),
            "server_cpu_s": round(server_cpu, 2),
            "server_cpu_ms_per_accept": round(1000 * server_cpu / connected, 3),
            "accepts_per_server_cpu_second": round(connected / server_cpu, 1),
            "client_cpu_s": round(sum(r["cpu_s"] for r in reports), 2),
        }
        if spy is not None:
            result["profile"] = profile_top(PROFILE_DIR / f"ws_accept-{kind}.pyspy")
        return result
    finally:
        for client in clients:
            if client.poll() is None and client.stdin is not None:
                client.stdin.close()
        for client in clients:
            try:
                client.wait(timeout=60)
            except subprocess.TimeoutExpired:
                client.kill()
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def run_clients(
    kind: str,
    port: int,
    args: argparse.Namespace,
    env: dict[str, str],
    shares: list[list[int]],
    clients: list[subprocess.Popen[str]],
) -> list[dict[str, Any]]:
    """Start one client process per share at once; their reports once all have connected."""
    started = []
    for share in shares:
        command = [
            PY,
            __file__,
            "--client",
            "--kind",
            kind,
            "--port",
            str(port),
            "--parallel",
            str(args.parallel),
        ]
        client = subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert client.stdin is not None
        client.stdin.write(" ".join(map(str, share)) + "\n")
        client.stdin.flush()
        clients.append(client)
        started.append(client)
    reports = []
    for client in started:
        assert client.stdout is not None
        reports.append(json.loads(client.stdout.readline()))
    return reports


def profile_top(path: Path, count: int = 15) -> list[dict[str, Any]]:
    """The functions with the most samples inside them (inclusive), project
    code and the libraries an accept goes through, from py-spy's raw output."""
    inside: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines() if path.exists() else []:
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        total += int(samples)
        for frame in {f.rsplit(":", 1)[0] for f in stack.split(";")}:
            inside[frame] = inside.get(frame, 0) + int(samples)
    ranked = sorted(inside.items(), key=lambda item: -item[1])
    wanted = ("realtime/", "ops/", "channels/", "daphne/", "autobahn/", "django/", "redis/", "psycopg/")
    mine = [(name, n) for name, n in ranked if any(w in name for w in wanted)][:count]
    return [{"function": name, "pct": round(100 * n / total, 1)} for name, n in mine]


def users_create(count: int) -> list[int]:
    from django.contrib.auth import get_user_model

    model = get_user_model()
    model.objects.bulk_create(
        [model(username=f"acc{i}", password="!") for i in range(count)], batch_size=2000
    )
    return list(model.objects.order_by("id").values_list("id", flat=True))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_ACCEPTS", "4000")))
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--parallel", type=int, default=100, help="handshakes in flight per client process")
    parser.add_argument("--web-processes", type=int, default=1)
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument(
        "--profile", action="store_true", help="sample the server with py-spy during the storm"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of the two stream servers, alternated")
    parser.add_argument("--database", default="tv_bench_accept")
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", default="stream", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    if args.client:
        asyncio.run(client_main(args))
        return

    pg = os.environ.get("BENCH_PG") or os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
    workdir = Path(tempfile.mkdtemp(prefix="tv-bench-accept-"))
    redis_port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": "bench-only-not-a-secret",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "DATABASE_URL": with_database(pg, args.database),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PYTHONPATH": str(ROOT),
    }
    redis = subprocess.Popen(
        [redis_server_binary(), "--port", str(redis_port), "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    started = time.monotonic()
    try:
        wait_for_port(redis_port)
        admin_exec(pg, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        admin_exec(pg, f'CREATE DATABASE "{args.database}"')
        subprocess.run([PY, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        os.environ.update(env)
        import django

        django.setup()
        users = users_create(args.connections + args.warm)
        from django.db import connections

        connections.close_all()
        result: dict[str, Any] = {
            "config": {
                k: getattr(args, k) for k in ("connections", "client_processes", "parallel", "web_processes")
            },
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
        }
        for kind in ("bare", "daphne"):
            log(f"{kind}: {args.connections} connections")
            result[kind] = storm(kind, args, env, users, workdir)
        runs: dict[str, list[dict[str, Any]]] = {"stream_python_gc": [], "stream": []}
        for n in range(args.repeat):
            for kind in runs:
                log(f"{kind} ({n + 1}/{args.repeat}): {args.connections} connections")
                runs[kind].append(storm(kind, args, env, users, workdir))
        for kind, done in runs.items():
            # The run with the median CPU per accept stands for the server.
            result[kind] = sorted(done, key=lambda r: r["server_cpu_ms_per_accept"])[len(done) // 2]
            if args.repeat > 1:
                result[kind]["runs_cpu_ms_per_accept"] = [r["server_cpu_ms_per_accept"] for r in done]
        stream = result["stream"]
        for baseline in ("bare", "daphne", "stream_python_gc"):
            base = result[baseline]
            result[f"ratio_stream_to_{baseline}"] = {
                "accepts_per_s": round(stream["accepts_per_s"] / base["accepts_per_s"], 2),
                "accepts_per_server_cpu_second": round(
                    stream["accepts_per_server_cpu_second"] / base["accepts_per_server_cpu_second"], 2
                ),
            }
        result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        result["seconds"] = round(time.monotonic() - started, 1)
        print(json.dumps(result, indent=2))
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        admin_exec(pg, f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
