"""`realtime.consumers.StreamConsumer.dispatch` overrides Channels'
`AsyncConsumer.dispatch` (channels/consumer.py) to skip the
`aclose_old_connections` thread hop before every handler. The override is a
copy of upstream's body minus that call; these tests fail loudly when an
upgrade of Channels changes the body we copied, so the copy is re-read, and
check that the override still finds handlers and refuses unknown types."""

import inspect
import textwrap
from unittest import mock

import pytest
from channels.consumer import AsyncConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from realtime.consumers import StreamConsumer

# channels 4.3's AsyncConsumer.dispatch, as read when the override was written.
UPSTREAM_DISPATCH = '''
async def dispatch(self, message):
    """
    Works out what to do with a message.
    """
    handler = getattr(self, get_handler_name(message), None)
    if handler:
        await aclose_old_connections()
        await handler(message)
    else:
        raise ValueError("No handler for message type %s" % message["type"])
'''


def test_upstream_dispatch_is_the_one_the_override_copies():
    upstream = textwrap.dedent(inspect.getsource(AsyncConsumer.dispatch)).strip()
    assert upstream == UPSTREAM_DISPATCH.strip(), (
        "channels changed AsyncConsumer.dispatch: re-read it and update StreamConsumer.dispatch"
    )


def test_no_class_between_the_override_and_upstream_overrides_dispatch():
    assert AsyncWebsocketConsumer.dispatch is AsyncConsumer.dispatch


async def test_the_override_runs_the_handler_without_closing_old_connections():
    consumer = StreamConsumer()
    consumer.websocket_test_ping = mock.AsyncMock()  # type: ignore[attr-defined]
    with mock.patch("channels.consumer.aclose_old_connections", side_effect=AssertionError("hop")):
        await consumer.dispatch({"type": "websocket.test_ping"})
    consumer.websocket_test_ping.assert_awaited_once_with({"type": "websocket.test_ping"})


async def test_the_override_refuses_a_message_without_a_handler():
    with pytest.raises(ValueError, match=r"no handler for message type nothing\.here"):
        await StreamConsumer().dispatch({"type": "nothing.here"})


def test_autobahn_formats_its_debug_lines_through_the_name_the_server_replaces():
    """realtime.daphne_server makes autobahn's `pformat` lazy (an accept's
    debug formatting, never logged); if autobahn stops calling it by that
    name, the replacement silently stops saving anything."""
    import pprint

    import autobahn.websocket.protocol as protocol

    from realtime.daphne_server import LazyPformat

    source = inspect.getsource(protocol.WebSocketProtocol._connectionMade)
    assert 'self.log.debug("\\n{attrs}", attrs=pformat(configAttrLog))' in source
    assert protocol.pformat is LazyPformat
    value = [("openHandshakeTimeout", 5, "Factory")] * 3
    assert str(protocol.pformat(value)) == pprint.pformat(value)


# channels-redis 4.3's code that realtime/channel_layer.py copies, as read then.
UPSTREAM_NEW_CHANNEL = '''
async def new_channel(self, prefix="specific."):
    """
    Returns a new channel name that can be used by a consumer in our
    process as a specific channel.
    """
    channel = f"{self.prefix}{prefix}{uuid.uuid4().hex}"
    await self._subscribe_to_channel(channel)
    return channel
'''
UPSTREAM_SUBSCRIBE_TO_CHANNEL = """
async def _subscribe_to_channel(self, channel):
    self.channels[channel] = asyncio.Queue()
    shard = self._get_shard(channel)
    await shard.subscribe(channel)
"""
UPSTREAM_GET_LAYER = """
def _get_layer(self):
    loop = asyncio.get_running_loop()

    try:
        layer = self._layers[loop]
    except KeyError:
        layer = RedisPubSubLoopLayer(
            *self._args,
            **self._kwargs,
            channel_layer=self,
        )
        self._layers[loop] = layer
        _wrap_close(self, loop)

    return layer
"""
UPSTREAM_SHARD_SUBSCRIBE = """
async def subscribe(self, channel):
    async with self._lock:
        if channel not in self._subscribed_to:
            self._ensure_redis()
            self._ensure_receiver()
            await self._pubsub.subscribe(channel)
            self._subscribed_to.add(channel)
"""
UPSTREAM_SHARD_INIT = """
def __init__(self, host, channel_layer):
    self.host = host
    self.channel_layer = channel_layer
    self._subscribed_to = set()
    self._lock = asyncio.Lock()
    self._redis = None
    self._pubsub = None
    self._receive_task = None
"""


@pytest.mark.parametrize(
    ("function", "copied"),
    [
        ("RedisSingleShardConnection.subscribe", UPSTREAM_SHARD_SUBSCRIBE),
        ("RedisSingleShardConnection.__init__", UPSTREAM_SHARD_INIT),
        ("RedisPubSubLoopLayer.new_channel", UPSTREAM_NEW_CHANNEL),
        ("RedisPubSubLoopLayer._subscribe_to_channel", UPSTREAM_SUBSCRIBE_TO_CHANNEL),
        ("RedisPubSubChannelLayer._get_layer", UPSTREAM_GET_LAYER),
    ],
)
def test_the_channels_redis_code_the_stream_layer_copies_is_unchanged(function, copied):
    from channels_redis import pubsub

    owner, name = function.split(".")
    upstream = textwrap.dedent(inspect.getsource(getattr(getattr(pubsub, owner), name))).strip()
    assert upstream == copied.strip(), f"channels-redis changed {function}: re-read realtime/channel_layer.py"


def test_the_twisted_internals_the_turn_flushed_writes_rely_on_are_there():
    """realtime.daphne_server.TurnFlushedServer sends from a callback on the
    reactor's asyncio loop through the reactor's own writable-event handler,
    and is installed as the class of the connections a port accepts."""
    from twisted.internet import asyncioreactor, tcp

    reactor_init = inspect.getsource(asyncioreactor.AsyncioSelectorReactor.__init__)
    assert "self._asyncioEventloop" in reactor_init
    assert callable(asyncioreactor.AsyncioSelectorReactor._readOrWrite)
    assert list(inspect.signature(asyncioreactor.AsyncioSelectorReactor._readOrWrite).parameters) == [
        "self",
        "selectable",
        "read",
    ]
    assert "self.transport(" in inspect.getsource(tcp.Port.doRead)
    assert tcp.Port.transport is tcp.Server


def test_the_web_process_accepts_its_connections_as_turn_flushed_ones():
    from twisted.internet import protocol, reactor

    from realtime.daphne_server import StreamServer, TurnFlushedServer

    server = StreamServer.__new__(StreamServer)
    server.ports, server.listening_addresses = [], []
    port = reactor.listenTCP(0, protocol.Factory.forProtocol(protocol.Protocol), interface="127.0.0.1")
    try:
        StreamServer.listen_success(server, port)
        assert port.transport is TurnFlushedServer
        assert server.ports == [port]
    finally:
        port.stopListening()


def test_a_unix_socket_port_keeps_its_own_connection_class(tmp_path):
    from twisted.internet import protocol, reactor, unix

    from realtime.daphne_server import StreamServer

    server = StreamServer.__new__(StreamServer)
    server.ports, server.listening_addresses = [], []
    port = reactor.listenUNIX(str(tmp_path / "web.sock"), protocol.Factory.forProtocol(protocol.Protocol))
    try:
        StreamServer.listen_success(server, port)
        assert port.transport is unix.Server
    finally:
        port.stopListening()


def test_the_loop_layer_still_makes_one_shard_per_host_the_stream_layer_replaces():
    """realtime.channel_layer.GroupsOnlyLoopLayer swaps each shard upstream
    made for a BatchedShard of the same host, after upstream's __init__."""
    from channels_redis import pubsub

    source = inspect.getsource(pubsub.RedisPubSubLoopLayer.__init__)
    assert "RedisSingleShardConnection(host, self) for host in decode_hosts(hosts)" in source
    assert "self._shards = [" in source
