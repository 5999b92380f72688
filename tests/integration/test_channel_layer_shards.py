"""The channel layer spread over two Redis servers (CHANNEL_LAYER_REDIS_URLS):
channels-redis hashes each user's group to one of them. A real web process
and a real worker both configured with the two, 20 users connected with the
reference client, a notification per user published by the worker: every
client gets its event live (none through the heartbeat's read of the log),
and both servers carry subscriptions."""

import asyncio
import os
import threading
from pathlib import Path

import pytest
import redis
from rest_framework.authtoken.models import Token

from config.celery_app import app
from realtime.client import StreamClient
from realtime.models import EventCounter
from tests.children import free_port, listening, python, spawn, stop, wait_for
from tests.factories import UserFactory
from tests.faults.processes import child_env, worker_start
from tests.trading.feed_process import redis_start

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

USERS = 20


def _subscriptions(url: str) -> int:
    client = redis.Redis.from_url(url)
    try:
        return len(client.pubsub_channels(f"{os.environ['CHANNEL_PREFIX']}*"))
    finally:
        client.close()


def test_events_reach_clients_through_a_layer_on_two_redis_servers(tmp_path: Path, settings):
    second_port = free_port()
    second_redis = redis_start(second_port, log=tmp_path / "redis.log")
    second = f"redis://127.0.0.1:{second_port}/0"
    layer = {"CHANNEL_LAYER_REDIS_URLS": f"{settings.REDIS_URL},{second}"}
    queue = f"shards-{os.environ['CHANNEL_PREFIX']}"
    worker = worker_start(
        queue=queue, name=f"shards-{os.environ['CHANNEL_PREFIX']}", log=tmp_path / "w.log", **layer
    )
    port = free_port()
    log = tmp_path / "web.log"
    web = spawn(
        python("-m", "realtime.server", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"),
        name="web",
        log=log,
        env=child_env(**layer),
    )
    wait_for(lambda: listening(port), timeout=60, what="the web process")

    users = [UserFactory() for _ in range(USERS)]
    tokens = {u.pk: Token.objects.create(user=u).key for u in users}
    received: dict[int, list[int]] = {uid: [] for uid in tokens}
    loop_ready = threading.Event()
    state: dict = {}

    async def run() -> None:
        state["loop"] = asyncio.get_running_loop()
        state["stop"] = asyncio.Event()
        clients = [
            StreamClient(
                base_url=f"http://127.0.0.1:{port}",
                token=token,
                on_event=lambda f, uid=uid: received[uid].append(f["seq"]),
            )
            for uid, token in tokens.items()
        ]
        runners = [asyncio.ensure_future(c.run(state["stop"])) for c in clients]
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in clients)), 60)
        loop_ready.set()
        await asyncio.gather(*runners)

    thread = threading.Thread(target=lambda: asyncio.run(run()), daemon=True)
    thread.start()
    try:
        assert loop_ready.wait(90), "the clients did not connect"
        for uid in tokens:
            app.send_task("realtime.tasks.notify_user", args=[uid, "sharded", "hello"], queue=queue)
        wait_for(
            lambda: all(received[uid] == [1] for uid in tokens),
            timeout=60,
            what=f"one event per client\n{received}",
        )
        assert set(EventCounter.objects.filter(user_id__in=tokens).values_list("last_seq", flat=True)) == {1}
        assert _subscriptions(settings.REDIS_URL) > 0
        assert _subscriptions(second) > 0
    finally:
        if "loop" in state:
            state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(30)
        stop(web)
        stop(worker)
        stop(second_redis)
    text = log.read_text()
    assert "not received from the channel layer" not in text  # all delivered live
    assert "Traceback" not in text
