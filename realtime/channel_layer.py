"""The channel layer: channels-redis's pub/sub layer, minus one SUBSCRIBE per socket,
and with the group subscriptions made together sent together.

channels-redis subscribes every consumer's own ("specific") channel when
Channels creates it, so that `channel_layer.send(channel_name, ...)` can
reach that one consumer. The stream never sends to a consumer's own channel:
everything arrives through groups (`user.<id>`, `ticker.<symbol>`), whose
messages the layer puts into each member's queue itself. That subscription
was a Redis round trip on every accept, about a twelfth of an accept's CPU in
a reconnect storm (docs/scaling.md, "Accepts"); here a new channel gets its
queue and no subscription. A direct send to a consumer's channel is not
delivered: nothing in the project does one (realtime/publish.py sends to
groups only), and tests/realtime/test_layer.py checks that groups still
deliver.

Each stream joins its user's group at accept: one SUBSCRIBE per socket, the
largest piece of the app's share of an accept once the reads were batched
(cProfile of bench/accept_profile.py). `BatchedShard` sends the SUBSCRIBEs
requested while one is out as one command naming every channel
(realtime/coalesce.py); each group_add still returns only once its channel's
SUBSCRIBE is written, under the shard's lock as upstream does it, so the
join-then-read order of the stream's `hello` holds.

Framework internals: `RedisPubSubChannelLayer._get_layer`,
`RedisPubSubLoopLayer.new_channel` and `RedisSingleShardConnection.subscribe`
(channels_redis/pubsub.py) are copied with those changes;
tests/realtime/test_channels_internals.py fails when an upgrade changes what
was copied.
"""

import asyncio
import uuid
from typing import Any

from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
    _wrap_close,
)

from realtime.coalesce import Coalescer


class BatchedShard(RedisSingleShardConnection):
    def __init__(self, host: Any, channel_layer: Any) -> None:
        super().__init__(host, channel_layer)
        self._subscriber: Coalescer[str, None] = Coalescer(self._subscribe_many)

    async def subscribe(self, channel: str) -> None:
        await self._subscriber.get(channel)

    async def _subscribe_many(self, channels: list[str]) -> list[None]:
        async with self._lock:
            new = [channel for channel in dict.fromkeys(channels) if channel not in self._subscribed_to]
            if new:
                self._ensure_redis()
                self._ensure_receiver()
                await self._pubsub.subscribe(*new)
                self._subscribed_to.update(new)
        return [None] * len(channels)


class GroupsOnlyLoopLayer(RedisPubSubLoopLayer):
    _shards: list[RedisSingleShardConnection]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shards = [BatchedShard(shard.host, self) for shard in self._shards]

    async def new_channel(self, prefix: str = "specific.") -> str:
        channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
        self.channels[channel] = asyncio.Queue()
        return channel


class StreamChannelLayer(RedisPubSubChannelLayer):
    def _get_layer(self) -> Any:
        loop = asyncio.get_running_loop()
        try:
            layer = self._layers[loop]
        except KeyError:
            layer = GroupsOnlyLoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
        return layer
