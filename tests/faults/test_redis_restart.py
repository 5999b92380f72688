"""Redis (broker, channel layer, latest prices, tickets) restarts empty while
WebSocket clients are connected and trades are in flight.

A Redis of the test's own on a free port serves a real daphne web process and
a real worker. Four users each hold a connection with the reference client
(`realtime.client.StreamClient`: reconnect with backoff, resume from the
last seq) and request trades over the HTTP API: 3 each before the restart,
1 each while Redis is down (the client retries its POST with the same
Idempotency-Key until it gets an answer), 3 each after. The queued-trade
sweeper (`sweep_queued_trades`, overdue after 2 s here) re-enqueues the
initiations whose messages died with Redis.

Outcome: every trade opens exactly once (no duplicate despite the retried
POSTs); each client ends with every event of its user, seq 1..last, exactly
once and in order; the ledger invariants hold.

Once every client has the last event of its user, the test publishes one
more event per user (a `notification`, the fence) through the same Redis
and waits until each client has it: a duplicate of an earlier event still
on its way (in the channel layer, or in the consumer's queue) would arrive
before it, so the client's record after the fence is final.

(A Redis restart with events published from the test process, and a web
restart, are covered by tests/integration/test_realtime_redis_restart.py.)
"""

import asyncio
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from celery import Celery
from django.db import connection, transaction
from rest_framework.authtoken.models import Token

from market.prices import LATEST_KEY
from realtime.client import StreamClient
from realtime.models import EventCounter
from realtime.publish import publish
from realtime.schemas import notification_data
from tests.factories import UserFactory
from tests.faults.invariants import assert_ledger_invariants, assert_trades_consistent
from tests.faults.processes import free_port, redis_start, stop, web_start
from tests.trading.feed_process import cache_at
from tests.trading.trades_support import balance, fund, make_instrument
from trading.trades.models import Trade, TradeStatus

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

D = Decimal
USERS = 4
SYMBOL = "RRS-USD"


def _quote(url: str) -> None:
    """The latest price, written to the test's Redis as the feed would."""
    cache_at(url).set(
        LATEST_KEY.format(symbol=SYMBOL),
        {"price": "100.00", "at": datetime.now(UTC).isoformat()},
        timeout=None,
    )


def _post_trade(base: str, token: str, key: str) -> int:
    """POST a trade until the server answers 2xx (same key every time)."""
    body = json.dumps({"instrument": SYMBOL, "side": "buy", "stake": "50.00"}).encode()
    deadline = time.monotonic() + 60
    while True:
        request = urllib.request.Request(
            f"{base}/api/v1/trades/",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Token {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": key,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return int(json.loads(response.read())["id"])
        except (urllib.error.URLError, OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def _fence(user_ids: list[int]) -> dict[int, int]:
    """One more event per user, sent after commit through this process's channel layer."""
    with transaction.atomic():
        return {
            uid: publish(
                user_id=uid, event="notification", data=notification_data(title="fence", body="")
            ).seq
            for uid in user_ids
        }


def _last_seqs(user_ids: list[int]) -> dict[int, int]:
    return dict(EventCounter.objects.filter(user_id__in=user_ids).values_list("user_id", "last_seq"))


async def test_redis_restart_with_clients_connected_and_trades_in_flight(processes, tmp_path, settings):
    port, web_port = free_port(), free_port()
    url = f"redis://127.0.0.1:{port}/0"
    # This process publishes the fence: its channel layer must use the test's Redis.
    layer = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": [url]}}}
    base = f"http://127.0.0.1:{web_port}"
    redis = await sync_to_async(redis_start)(port)
    web = None
    clients: list[StreamClient] = []
    received: dict[int, list[int]] = {}
    stop_clients = asyncio.Event()
    runners: list[asyncio.Future] = []
    try:
        env = {"REDIS_URL": url, "TRADE_SWEEP_AFTER_SECONDS": "2", "TRADE_RETRY_BASE_SECONDS": "1"}
        web = await sync_to_async(web_start)(port=web_port, log=tmp_path / "web.log", REDIS_URL=url)
        await sync_to_async(processes.worker)(queue="celery", **env)

        def setup():
            make_instrument(SYMBOL, fee_bps=10, price_scale=2)
            users = [UserFactory() for _ in range(USERS)]
            for user in users:
                fund(user, "1000.00")
            return users, [Token.objects.create(user=u).key for u in users]

        users, tokens = await sync_to_async(setup)()
        user_ids = [u.pk for u in users]
        await sync_to_async(_quote)(url)
        for user, token in zip(users, tokens, strict=True):
            received[user.pk] = []
            client = StreamClient(
                base_url=base, token=token, on_event=lambda f, uid=user.pk: received[uid].append(f["seq"])
            )
            clients.append(client)
            runners.append(asyncio.ensure_future(client.run(stop_clients)))
        for client in clients:
            await asyncio.wait_for(client.connected.wait(), 60)

        async def post_round(tag: str) -> None:
            await asyncio.gather(
                *(
                    sync_to_async(_post_trade, thread_sensitive=False)(
                        base, token, f"{tag}-{n}-{uuid.uuid4().hex}"
                    )
                    for token in tokens
                    for n in range(3 if tag != "down" else 1)
                )
            )

        await post_round("before")  # their initiations are in flight now
        await sync_to_async(stop)(redis)
        downtime = asyncio.ensure_future(post_round("down"))  # answered once Redis is back
        await asyncio.sleep(2)
        redis = await sync_to_async(redis_start)(port)  # a new, empty Redis on the same port
        await sync_to_async(_quote)(url)
        await downtime
        await post_round("after")

        # Not the current app: this process's own sends must keep their broker.
        sweeper = Celery(broker=url, set_as_current=False)
        deadline = time.monotonic() + 180
        while await sync_to_async(Trade.objects.filter(status=TradeStatus.QUEUED).exists)():
            assert time.monotonic() < deadline, f"trades stuck in queued\n{processes.log_tail()}"
            await sync_to_async(_quote)(url)
            sweeper.send_task("trading.tasks.sweep_queued_trades", queue="celery")
            await asyncio.sleep(2)
        sweeper.close()

        async def all_received(last: dict[int, int]) -> None:
            deadline = time.monotonic() + 120
            while any((received[uid][-1] if received[uid] else 0) < last[uid] for uid in user_ids):
                assert time.monotonic() < deadline, {uid: (len(received[uid]), last[uid]) for uid in user_ids}
                await asyncio.sleep(0.2)

        await all_received(await sync_to_async(_last_seqs)(user_ids))
        # Anything still on its way, a duplicate included, arrives before the fence.
        last = await sync_to_async(_fence)(user_ids)
        await all_received(last)
    finally:
        stop_clients.set()
        for runner in runners:
            await asyncio.wait_for(runner, 20)
        if web is not None:
            await sync_to_async(stop)(web)
        await sync_to_async(stop)(redis)

    for uid in user_ids:
        assert received[uid] == list(range(1, last[uid] + 1)), uid
    assert all((c.stats.duplicates, c.stats.gaps) == (0, 0) for c in clients)

    def check():
        trades = assert_trades_consistent(expected_count=USERS * 7)
        assert {t.status for t in trades} == {TradeStatus.OPEN}
        for user in users:
            # 7 x (50.00 stake + 0.05 fee)
            assert balance(user) == (D("649.65"), D("350.00"))
        assert_ledger_invariants()

    try:
        await sync_to_async(check)()
    finally:
        # The session of sync_to_async's thread would outlive the test (and hold the test database).
        await sync_to_async(lambda: connection.close())()
