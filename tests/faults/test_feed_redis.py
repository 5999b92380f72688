"""Feed resilience: the Redis the feed uses goes away for a few seconds and
comes back; the feed logs, backs off, keeps recording bars in PostgreSQL, and
resumes writing prices to Redis by itself, without a restart."""

import asyncio
import threading
from datetime import datetime

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.utils import timezone

from market.models import PriceTick
from market.prices import LATEST_KEY
from tests.factories import InstrumentFactory
from tests.trading.feed_process import cache_at, feed_start, free_port, redis_start, stop, wait_for

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

KEY = LATEST_KEY.format(symbol="BTC-USD")


def latest_at(cache) -> datetime | None:
    try:
        raw = cache.get(KEY)
    except Exception:
        return None
    return None if raw is None else datetime.fromisoformat(raw["at"])


def test_feed_survives_redis_going_away_and_recovers_by_itself(tmp_path):
    # Seeded by migration, but another suite's transactional test may have flushed it.
    InstrumentFactory(symbol="BTC-USD")
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    log = tmp_path / "feed.log"
    redis = redis_start(port)
    feed = None
    try:
        feed = feed_start("--symbols", "BTC-USD", "--seconds", "120", log=log, REDIS_URL=url)
        cache = cache_at(url)
        wait_for(lambda: latest_at(cache), timeout=60, what="the first price in Redis")

        stop(redis)
        down_at = timezone.now()
        # Redis is away for a few seconds while the feed keeps running.
        wait_for(lambda: "Redis unavailable" in log.read_text(), timeout=30, what="the feed to notice")
        threading_pause(3)
        assert feed.poll() is None, log.read_text()
        up_at = timezone.now()
        redis = redis_start(port)  # a new, empty Redis on the same port

        fresh = cache_at(url)
        recovered = wait_for(
            lambda: (at := latest_at(fresh)) is not None and at > up_at and at, timeout=60, what="recovery"
        )
        assert feed.poll() is None, log.read_text()
        # Ticks flow again on the channel layer of the new Redis.
        tick = asyncio.run(one_tick(url))
        assert tick["symbol"] == "BTC-USD" and datetime.fromisoformat(tick["time"]) > up_at
    finally:
        if feed is not None:
            assert stop(feed) == 0, log.read_text()
        stop(redis)

    output = log.read_text()
    assert "Redis unavailable" in output
    assert "Redis is back" in output
    assert "Traceback" not in output
    assert recovered > up_at
    # PostgreSQL kept receiving prices while Redis was away: no hole in the record.
    assert PriceTick.objects.filter(instrument__symbol="BTC-USD", at__gt=down_at, at__lt=up_at).exists()


def threading_pause(seconds: float) -> None:
    threading.Event().wait(seconds)


async def one_tick(url: str) -> dict:
    """The next tick on ticker.BTC-USD through a channels-redis layer on `url`."""
    layer = RedisPubSubChannelLayer(
        hosts=[url], prefix=settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"]
    )
    channel = await layer.new_channel()
    await layer.group_add("ticker.BTC-USD", channel)
    try:
        return await asyncio.wait_for(layer.receive(channel), timeout=30)
    finally:
        await layer.group_discard("ticker.BTC-USD", channel)
        await layer.flush()
