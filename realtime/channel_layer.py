"""The channel layer: channels-redis's pub/sub layer, minus one SUBSCRIBE per socket.

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

Framework internals: `RedisPubSubChannelLayer._get_layer` and
`RedisPubSubLoopLayer.new_channel` (channels_redis/pubsub.py) are copied
with that one change; tests/realtime/test_channels_internals.py fails when an
upgrade changes what was copied.
"""

import asyncio
import uuid
from typing import Any

from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer, _wrap_close


class GroupsOnlyLoopLayer(RedisPubSubLoopLayer):
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
