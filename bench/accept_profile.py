"""Where an accept's CPU goes in the app, in-process: the stream's ASGI app
(`config.asgi:application`, production settings) driven without a server,
so daphne's own share (bench/ws_accept.py measures it) is left out.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/accept_profile.py
        [--without redeem,subscribe,read,heartbeat] [--profile]

BENCH_ACCEPTS (2,000) ticket accepts, BENCH_PARALLEL (100) in flight, each
done when its `hello` is sent, on a database of its own. CPU is the whole
process's (`process_time`, the read's pool threads included). `--without`
replaces parts of an accept by ones that do no I/O (the ticket's
redemption, the group's subscription, the user/`last_seq` read, the
heartbeat task), to see what each costs: the method of docs/scaling.md,
"Accepts". Each run ends with its baseline, in the same process: the same
number of accepts with all four removed (what the app costs without I/O),
and the ratio to it. `--profile`: the cProfile lines of the accepts with the most
time (cumulative; the event loop's thread only). Prints JSON.
"""

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import admin_exec  # noqa: E402
from config.env import with_database  # noqa: E402

BENCH_DB = os.environ.get("BENCH_DB", f"tv_bench_accept_app_{os.getpid()}")
ACCEPTS = int(os.environ.get("BENCH_ACCEPTS", "2000"))
PARALLEL = int(os.environ.get("BENCH_PARALLEL", "100"))
WARM = 100
PARTS = ("redeem", "subscribe", "read", "heartbeat")


Held = tuple["asyncio.Queue[dict[str, Any]]", "asyncio.Future[Any]"]


async def _accept(application: Any, ticket: str) -> Held:
    """One handshake, as a server hands it to the app; back when `hello` is sent."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    said = asyncio.get_running_loop().create_future()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] in ("websocket.send", "websocket.close") and not said.done():
            said.set_result(message)

    scope = {
        "type": "websocket",
        "path": "/ws/stream/",
        "raw_path": b"/ws/stream/",
        "query_string": f"ticket={ticket}".encode(),
        "headers": [(b"host", b"127.0.0.1:8000")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
        "scheme": "ws",
        "asgi": {"version": "3.0"},
    }
    app = asyncio.ensure_future(application(scope, inbox.get, send))
    await inbox.put({"type": "websocket.connect"})
    first = await said
    if first["type"] != "websocket.send" or json.loads(first["text"])["type"] != "hello":
        raise RuntimeError(f"no hello: {first}")
    return inbox, app


def _remove(parts: set[str], tickets: dict[str, int]) -> None:
    """Replace the named parts of an accept by ones that do no I/O."""
    from channels_redis.pubsub import RedisPubSubLoopLayer

    from realtime import consumers, services

    if "redeem" in parts:

        async def redeemed(*, ticket: str) -> int | None:
            return tickets.get(ticket)

        services.ticket_redeem = redeemed  # type: ignore[assignment]
    if "subscribe" in parts:

        async def joined(self: Any, group: str, channel: str) -> None:
            return None

        RedisPubSubLoopLayer.group_add = joined  # type: ignore[method-assign]
    if "read" in parts:

        async def started(key: int) -> int | None:
            return 0

        consumers._stream_starts.get = started  # type: ignore[method-assign]
    if "heartbeat" in parts:

        async def silent(self: Any) -> None:
            return None

        consumers.StreamConsumer._heartbeat = silent  # type: ignore[method-assign]


async def _run(users: list[int], parts: set[str], profile: bool) -> dict[str, Any]:
    from config.asgi import application
    from realtime import consumers, services

    tickets = {services.ticket_create(user_id=user): user for user in users}
    _remove(parts, tickets)
    ordered = list(tickets)
    held = [await _accept(application, ticket) for ticket in ordered[:WARM]]
    gate = asyncio.Semaphore(PARALLEL)

    async def one(ticket: str) -> Held:
        async with gate:
            return await _accept(application, ticket)

    profiler = cProfile.Profile() if profile else None
    trips = consumers._stream_starts.round_trips
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    held += await asyncio.gather(*(one(ticket) for ticket in ordered[WARM:]))
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    result: dict[str, Any] = {
        "accepts": len(ordered) - WARM,
        "parallel": PARALLEL,
        "without": sorted(parts),
        "cpu_ms_per_accept": round(1000 * cpu / (len(ordered) - WARM), 3),
        "wall_s": round(wall, 2),
        "read_round_trips": consumers._stream_starts.round_trips - trips,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    if profiler:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(40)
        result["profile"] = out.getvalue().splitlines()
    for inbox, _ in held:
        await inbox.put({"type": "websocket.disconnect", "code": 1000})
    await asyncio.gather(*(app for _, app in held), return_exceptions=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--without", default="", help=f"comma-separated, of: {', '.join(PARTS)}")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    parts = {p for p in args.without.split(",") if p}
    if parts - set(PARTS):
        parser.error(f"--without takes {', '.join(PARTS)}")
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tradevision")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="bench-only-not-a-secret",
        SECURE_SSL_REDIRECT="0",
        LOG_LEVEL="WARNING",
        CHANNEL_PREFIX=f"tvbench{uuid.uuid4().hex[:8]}",
    )
    admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin_exec(base_url, f'CREATE DATABASE "{BENCH_DB}"')
    os.environ["DATABASE_URL"] = with_database(base_url, BENCH_DB)
    try:
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        model = get_user_model()
        model.objects.bulk_create(
            [model(username=f"acc{i}", password="!") for i in range(2 * (ACCEPTS + WARM))]
        )
        users = list(model.objects.order_by("id").values_list("id", flat=True))
        connections.close_all()
        result = asyncio.run(_run(users[: ACCEPTS + WARM], parts, "--profile" in sys.argv))
        # The baseline, in the same process and after it (removing is for
        # good): the same accepts with every part that does I/O removed.
        baseline = asyncio.run(_run(users[ACCEPTS + WARM :], set(PARTS), False))
        result["baseline_without_io"] = {
            key: baseline[key] for key in ("without", "cpu_ms_per_accept", "wall_s")
        }
        result["ratio_to_baseline"] = round(result["cpu_ms_per_accept"] / baseline["cpu_ms_per_accept"], 2)
    finally:
        from django.db import connections

        connections.close_all()
        admin_exec(base_url, f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
