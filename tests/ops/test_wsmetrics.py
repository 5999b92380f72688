"""WebSocket connections and delivered event frames, counted by the ASGI
wrapper around the real consumer and channels-redis layer."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from ops import wsmetrics
from ops.wsmetrics import stream_metrics
from realtime.routing import websocket_application
from tests.realtime.conftest import apublish_notes, ticket_for

pytestmark = pytest.mark.django_db(transaction=True)

app = stream_metrics(websocket_application)


async def _open(user):
    comm = WebsocketCommunicator(app, f"/ws/stream/?ticket={await ticket_for(user)}")
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_json_from(timeout=5))["type"] == "hello"
    return comm


async def _eventually(read, expected):
    """Counters are published to Redis in the background: wait for them."""
    value = None
    for _ in range(100):
        value = await sync_to_async(read)()
        if value == expected:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {expected}, last saw {value}")


async def test_open_connections_and_delivered_events_are_counted(user, other_user):
    a = await _open(user)
    b = await _open(other_user)
    await _eventually(wsmetrics.ws_connections_open, 2)

    await apublish_notes(user.pk, ["one", "two"])
    frames = [await a.receive_json_from(timeout=5) for _ in range(2)]
    assert [f["seq"] for f in frames] == [1, 2]
    # Flushed at most once a second; the disconnect below forces a flush.
    await b.disconnect()
    await _eventually(wsmetrics.ws_connections_open, 1)
    await _eventually(wsmetrics.ws_events_delivered, 2)
    last = await sync_to_async(wsmetrics.ws_last_event_time)()
    assert last == frames[1]["time"]

    await a.disconnect()
    await _eventually(wsmetrics.ws_connections_open, 0)


async def test_a_refused_connection_is_not_counted():
    comm = WebsocketCommunicator(app, "/ws/stream/?ticket=not-a-ticket")
    connected, _ = await comm.connect()
    # Accepted then closed with the documented code: open, then closed again.
    assert connected
    message = await comm.receive_output(timeout=5)
    assert (message["type"], message["code"]) == ("websocket.close", 4001)
    await comm.wait()
    await _eventually(wsmetrics.ws_connections_open, 0)


async def test_a_write_that_redis_refuses_keeps_the_count_and_the_last_event_for_the_next(settings):
    counters = wsmetrics._ProcessCounters()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    frame = '{"type":"event","seq":7,"event":"notification","time":"2026-12-07T11:00:00+00:00","data":{}}'
    await counters._write(3, frame)
    assert (counters.delivered_unflushed, counters.last_event_text) == (3, frame)
    newer = frame.replace('seq":7', 'seq":8').replace("11:00:00", "11:00:01")
    counters.last_event_text = newer  # sent while the write was failing
    await counters._write(2, frame)
    assert (counters.delivered_unflushed, counters.last_event_text) == (5, newer)
