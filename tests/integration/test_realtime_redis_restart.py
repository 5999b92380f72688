"""Redis restart with a client connected: nothing lost, nothing twice.

A Redis of our own on a free port carries the channel layer and the tickets;
the app runs under a real daphne process; the reference client
(`realtime.client.StreamClient`) holds a connection. Events are published
before, during (Redis down: the after-commit sends fail, the rows are in the
outbox) and after the restart: the server's pub/sub connection resubscribes
and the consumer fills the gap from the outbox. Then the web process itself
restarts: the client reconnects with its last seq and the server replays.
The client must end with every seq exactly once, in order."""

import asyncio
import subprocess
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from rest_framework.authtoken.models import Token

from realtime.client import StreamClient
from tests.children import child_env, free_port, listening, python, redis_server_binary, spawn, stop, wait_for
from tests.realtime.conftest import publish_notes

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class RedisServer:
    def __init__(self, port: int, workdir: Path) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = spawn(
            [
                *(redis_server_binary(), "--port", str(self.port), "--save", "", "--appendonly", "no"),
                *("--dir", str(self.workdir)),
            ],
            name=f"redis:{self.port}",
            log=self.workdir / f"redis-{self.port}.log",
        )
        wait_for(lambda: listening(self.port), timeout=30, what=f"redis on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=15)


class WebServer:
    """daphne serving config.asgi:application, as the Procfile runs it."""

    def __init__(self, port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.env = env
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = spawn(
            python(
                "-m", "realtime.server", "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"
            ),
            name=f"web:{self.port}",
            log=self.log,
            env=self.env,
        )
        wait_for(lambda: listening(self.port), timeout=30, what=f"daphne on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process, timeout=15)


@pytest.fixture
def stack(tmp_path, settings):
    redis_port, web_port = free_port(), free_port()
    redis = RedisServer(redis_port, tmp_path)
    redis.start()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    web = WebServer(web_port, child_env(REDIS_URL=redis_url), tmp_path / "web.log")
    web.start()
    # This process publishes: its channel layer must use the same Redis.
    settings.CHANNEL_LAYERS = {
        "default": {
            **settings.CHANNEL_LAYERS["default"],
            "CONFIG": {**settings.CHANNEL_LAYERS["default"]["CONFIG"], "hosts": [redis_url]},
        }
    }
    try:
        yield redis, web
    finally:
        web.stop()
        redis.stop()


async def wait_until(predicate, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


async def test_client_ends_with_every_event_exactly_once_across_a_redis_restart(user, stack):
    redis, web = stack
    base_url = web.url
    token = await database_sync_to_async(lambda: Token.objects.create(user=user).key)()
    received: list[int] = []
    client = StreamClient(base_url=base_url, token=token, on_event=lambda f: received.append(f["seq"]))
    done = asyncio.Event()
    runner = asyncio.ensure_future(client.run(done))
    try:
        await asyncio.wait_for(client.connected.wait(), 30)
        await database_sync_to_async(publish_notes)(user.pk, [f"before{n}" for n in range(20)])
        await wait_until(lambda: len(received) >= 20, 30)

        await sync_to_async(redis.stop)()
        await database_sync_to_async(publish_notes)(user.pk, [f"down{n}" for n in range(10)])
        await sync_to_async(redis.start)()
        for n in range(10):
            await database_sync_to_async(publish_notes)(user.pk, [f"after{n}"])
            await asyncio.sleep(0.2)
        await wait_until(lambda: len(received) >= 40, 60)

        # The web process goes away too: the client must reconnect and resume.
        await sync_to_async(web.stop)()
        await database_sync_to_async(publish_notes)(user.pk, [f"webdown{n}" for n in range(10)])
        await sync_to_async(web.start)()
        await database_sync_to_async(publish_notes)(user.pk, [f"webup{n}" for n in range(10)])
        await wait_until(lambda: len(received) >= 60, 60)
        await asyncio.sleep(0.5)  # a duplicate would arrive now
    finally:
        done.set()
        await asyncio.wait_for(runner, 20)
    assert received == list(range(1, 61))
    assert (client.stats.duplicates, client.stats.gaps) == (0, 0)
    assert client.stats.connects >= 2
