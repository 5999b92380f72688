"""The sender: a layer that is down loses no event (the row is committed and
the consumer fills the gap) and never fails the writer's transaction."""

import socket

import pytest
from django.db import transaction

from realtime import layer
from realtime.models import Event
from realtime.publish import publish
from realtime.schemas import notification_data


@pytest.fixture
def dead_layer(settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    config = settings.CHANNEL_LAYERS["default"]
    settings.CHANNEL_LAYERS = {
        "default": {**config, "CONFIG": {**config["CONFIG"], "hosts": [f"redis://127.0.0.1:{port}/0"]}}
    }


def test_a_waited_send_to_a_dead_layer_reports_false(dead_layer, caplog):
    assert layer.layer_group_send(group="user.1", message={"type": "x"}, wait=True) is False
    assert "send to user.1 failed" in caplog.text


def test_publish_commits_even_when_the_layer_is_down(
    dead_layer, user, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            event = publish(
                user_id=user.pk, event="notification", data=notification_data(title="t", body="b")
            )
    layer.layer_drain()
    assert Event.objects.filter(pk=event.pk, seq=1).exists()
    assert "channel layer send to user." in caplog.text


def test_a_working_send_reports_true():
    assert layer.layer_group_send(group="user.1", message={"type": "x"}, wait=True) is True


def test_a_send_while_redis_is_away_logs_one_line_without_a_traceback(monkeypatch, caplog):
    """Redis restarting: every send fails alike, each logged once, briefly
    (tests/faults/test_feed_redis.py checks the feed's log has no traceback)."""
    import redis.exceptions

    from realtime import layer as layer_module

    class AwayLayer:
        async def group_send(self, group, message):
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")

    monkeypatch.setattr(layer_module, "get_channel_layer", lambda: AwayLayer())
    with caplog.at_level("WARNING", logger="realtime.layer"):
        assert layer_module.layer_group_send(group="g", message={"type": "x"}) is False
    (record,) = [r for r in caplog.records if r.name == "realtime.layer"]
    assert record.exc_info is None
    assert "Connection refused" in record.getMessage() and "recover it by resume" in record.getMessage()


class _RecordingLayer:
    """A channel layer that records sends and yields to the loop in each."""

    def __init__(self, fail: set[str] = frozenset()):
        self.sent: list[str] = []
        self.fail = fail

    async def group_send(self, group, message):
        import asyncio

        await asyncio.sleep(0.001)  # let a later send try to overtake
        if message["n"] in self.fail:
            raise ConnectionError("down")
        self.sent.append(message["n"])


def test_a_batch_leaves_in_order_and_before_a_later_send(monkeypatch, caplog):
    recording = _RecordingLayer(fail={"a2"})
    monkeypatch.setattr(layer, "get_channel_layer", lambda: recording)
    layer.layer_group_send_many(sends=[("user.1", {"n": f"a{i}"}) for i in range(5)])
    assert layer.layer_group_send(group="user.1", message={"n": "b"}, wait=True) is True
    # a2 failed (logged); the rest of the batch still went, all before b.
    assert recording.sent == ["a0", "a1", "a3", "a4", "b"]
    assert "send to user.1 failed" in caplog.text


def test_the_channels_redis_internals_the_pipelined_send_uses_exist():
    """`realtime.layer._pipelined` relies on private parts of channels_redis;
    an upgrade that changes them fails here, not as lost live events."""
    import inspect

    from channels_redis.pubsub import RedisPubSubLoopLayer, RedisSingleShardConnection

    for name in ("_get_group_channel_name", "_get_shard"):
        assert callable(getattr(RedisPubSubLoopLayer, name, None)), f"RedisPubSubLoopLayer.{name} is gone"
    assert callable(getattr(RedisSingleShardConnection, "_ensure_redis", None))
    # group_send is still a PUBLISH of the serialized message on the group's
    # channel, on the group's shard, under the shard's lock.
    group_send = inspect.getsource(RedisPubSubLoopLayer.group_send)
    assert "self._get_group_channel_name(group)" in group_send
    assert "self._get_shard(group_channel)" in group_send
    assert "shard.publish(group_channel, self.channel_layer.serialize(message))" in group_send
    publish = inspect.getsource(RedisSingleShardConnection.publish)
    assert "async with self._lock:" in publish
    assert "self._ensure_redis()" in publish
    assert "self._redis.publish(channel, message)" in publish


@pytest.mark.django_db(transaction=True)
async def test_a_pipelined_batch_reaches_subscribers_in_order():
    import asyncio

    from channels.layers import get_channel_layer

    channel_layer = get_channel_layer()
    channel = await channel_layer.new_channel()
    await channel_layer.group_add("user.7", channel)
    await channel_layer.group_add("user.8", channel)
    sends = [(f"user.{7 + i % 2}", {"type": "event.message", "n": i}) for i in range(50)]
    await asyncio.to_thread(layer.layer_group_send_many, sends=sends)
    received = [await asyncio.wait_for(channel_layer.receive(channel), 5) for _ in range(50)]
    assert [m["n"] for m in received] == list(range(50))
    await channel_layer.group_discard("user.7", channel)
    await channel_layer.group_discard("user.8", channel)


def test_a_pipelined_batch_to_a_dead_layer_is_logged_not_raised(dead_layer, caplog):
    layer.layer_group_send_many(sends=[("user.1", {"type": "x", "n": 1}), ("user.2", {"type": "x", "n": 2})])
    layer.layer_drain()
    assert "channel layer send of 2 messages failed" in caplog.text
    # The loop goes on: a later send is attempted (and fails the same way).
    assert layer.layer_group_send(group="user.1", message={"type": "x"}, wait=True) is False


@pytest.mark.django_db(transaction=True)
async def test_a_consumers_own_channel_is_not_subscribed_yet_its_groups_deliver():
    """realtime.channel_layer: one SUBSCRIBE per socket (its user group), not
    two; what a group carries still reaches the channel's queue."""
    import asyncio

    from channels.layers import get_channel_layer

    from realtime.channel_layer import StreamChannelLayer

    channel_layer = get_channel_layer()
    assert isinstance(channel_layer, StreamChannelLayer)
    channel = await channel_layer.new_channel()
    loop_layer = channel_layer._get_layer()
    subscribed = set().union(*(shard._subscribed_to for shard in loop_layer._shards))
    assert channel not in subscribed
    await channel_layer.group_add("user.9", channel)
    await channel_layer.group_send("user.9", {"type": "event.message", "n": 1})
    assert (await asyncio.wait_for(channel_layer.receive(channel), 5))["n"] == 1
    await channel_layer.group_discard("user.9", channel)


@pytest.mark.django_db(transaction=True)
async def test_group_joins_made_together_share_a_subscribe_and_each_is_subscribed_when_it_returns():
    """realtime.channel_layer.BatchedShard: a reconnect storm's joins go to
    Redis as few SUBSCRIBE commands; each join returns only once Redis has
    its channel's SUBSCRIBE (counted by Redis itself), and each group delivers."""
    import asyncio

    from channels.layers import get_channel_layer

    channel_layer = get_channel_layer()
    loop_layer = channel_layer._get_layer()
    groups = [f"user.{5000 + i}" for i in range(40)]
    channels = [await channel_layer.new_channel() for _ in groups]
    before = sum(shard._subscriber.round_trips for shard in loop_layer._shards)

    async def join(group: str, channel: str) -> int:
        await channel_layer.group_add(group, channel)
        name = loop_layer._get_group_channel_name(group)
        shard = loop_layer._get_shard(name)
        # A PUBLISH from now on reaches this process: Redis counts the subscriber.
        return int(dict(await shard._redis.pubsub_numsub(name))[name.encode()])

    subscribers = await asyncio.gather(*(join(g, c) for g, c in zip(groups, channels, strict=True)))
    assert subscribers == [1] * len(groups)
    commands = sum(shard._subscriber.round_trips for shard in loop_layer._shards) - before
    # The first join of each shard goes at once, the others together after it.
    assert len(loop_layer._shards) <= commands <= 2 * len(loop_layer._shards)
    for n, group in enumerate(groups):
        await channel_layer.group_send(group, {"type": "event.message", "n": n})
    received = [await asyncio.wait_for(channel_layer.receive(c), 5) for c in channels]
    assert [m["n"] for m in received] == list(range(len(groups)))
    for group, channel in zip(groups, channels, strict=True):
        await channel_layer.group_discard(group, channel)
