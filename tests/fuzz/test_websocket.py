"""Hypothesis over the WebSocket message handler (`/ws/stream/`).

Arbitrary text, arbitrary JSON, protocol-shaped frames with arbitrary
fields, and binary frames are sent to the real consumer over the real
channels-redis layer. After each one the client sends a `ping`: everything
the server says before the `pong` is the answer to the fuzzed frame. Each
answer must be a JSON frame of a documented type (an `error` frame with a
code for anything it refuses), or a close with a documented code; never a
server exception (the communicator re-raises any exception of the consumer).
"""

import asyncio
import json
import os

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config.asgi import application
from realtime import services
from realtime.close_codes import CLOSE_RATE_LIMITED, CLOSE_SILENT, CLOSE_TOO_BIG

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("FUZZ_WS_EXAMPLES", "150"))
ANSWER_TYPES = {"error", "pong", "resumed", "resync_required", "subscribed", "event", "heartbeat", "tick"}
ERROR_CODES = {
    "bad_json",
    "bad_request",
    "unknown_type",
    "since_ahead",
    "bad_symbol",
    "too_many_symbols",
    "rate_limited",
}
CLOSE_CODES = {CLOSE_RATE_LIMITED, CLOSE_TOO_BIG, CLOSE_SILENT}
SYMBOLS = ["BTC-USD", "ETH-USD", "NOPE", "", "user.1"]
TYPES = ["ping", "pong", "resume", "subscribe", "unsubscribe", "event", "tick", "hello", "event.message", ""]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=25,
)
protocol_frames = st.fixed_dictionaries(
    {"type": st.sampled_from(TYPES) | st.text(max_size=50)},
    optional={
        "since": json_values | st.integers(min_value=-(2**70), max_value=2**70),
        "symbols": json_values | st.lists(st.sampled_from(SYMBOLS), max_size=60),
    },
).map(json.dumps)
text_frames = (
    st.text(max_size=300) | json_values.map(json.dumps) | protocol_frames | st.just("") | st.just("{}")
).map(lambda text: ("text", text))
binary_frames = st.binary(max_size=300).map(lambda data: ("bytes", data))
frames = st.lists(text_frames | binary_frames, min_size=1, max_size=5)


async def _exchange(comm: WebsocketCommunicator, kind: str, payload) -> int | None:
    """Send one frame and check what comes back; returns a close code, if closed."""
    # send_input, not send_to: empty frames are frames too.
    await comm.send_input({"type": "websocket.receive", kind: payload})
    await comm.send_to(text_data='{"type":"ping"}')
    while True:
        message = await comm.receive_output(timeout=10)
        if message["type"] == "websocket.close":
            assert message.get("code") in CLOSE_CODES, message
            return int(message["code"])
        assert message["type"] == "websocket.send", message
        frame = json.loads(message["text"])
        assert frame["type"] in ANSWER_TYPES, frame
        if frame["type"] == "error":
            assert frame["code"] in ERROR_CODES, frame
            assert isinstance(frame["message"], str) and frame["message"]
        if frame["type"] == "pong":
            return None


async def _session(user_id: int, batch) -> None:
    ticket = await sync_to_async(services.ticket_create)(user_id=user_id)
    comm = WebsocketCommunicator(application, f"/ws/stream/?ticket={ticket}")
    connected, _ = await comm.connect(timeout=10)
    assert connected
    assert (await comm.receive_json_from(timeout=10))["type"] == "hello"
    try:
        for kind, payload in batch:
            if await _exchange(comm, kind, payload) is not None:
                return
    finally:
        await comm.disconnect()


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    # The consumer's database threads run on this loop's executor.
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def test_any_frame_gets_a_documented_answer_never_an_exception(user, loop, settings_rate):
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(batch=frames)
    def run(batch):
        loop.run_until_complete(_session(user.pk, batch))

    run()


@pytest.fixture
def settings_rate(settings):
    # Each fuzzed frame is followed by a ping; the per-second rate limit has
    # its own tests in tests/realtime and would only end sessions early here.
    settings.WS_MAX_MESSAGES_PER_SECOND = 10_000
