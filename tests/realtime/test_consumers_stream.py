"""Frames after hello: isolation, resume exactness, gap fill, tickers, limits."""

import asyncio
import json
import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async

from realtime import publish as publish_module
from realtime.close_codes import CLOSE_RATE_LIMITED, CLOSE_SILENT, CLOSE_TOO_BIG
from realtime.consumers import MAX_SYMBOLS
from realtime.models import Event
from realtime.services import event_prune
from realtime.ticks import publish_tick
from tests.realtime.conftest import apublish_notes, closed_with, open_with_ticket, publish_notes

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_until(comm, predicate, *, limit=2000):
    """Frames received up to and including the first one matching `predicate`."""
    seen = []
    for _ in range(limit):
        frame = await comm.receive_json_from(timeout=10)
        seen.append(frame)
        if predicate(frame):
            return seen
    raise AssertionError(f"no matching frame in {limit}")


async def test_live_events_arrive_in_order(user):
    comm, _ = await open_with_ticket(user)
    await apublish_notes(user.pk, ["a", "b", "c"])
    frames = [await comm.receive_json_from(timeout=5) for _ in range(3)]
    assert [(f["type"], f["seq"], f["data"]["title"]) for f in frames] == [
        ("event", 1, "a"),
        ("event", 2, "b"),
        ("event", 3, "c"),
    ]
    assert frames[0]["event"] == "notification"
    await comm.disconnect()


async def test_user_b_never_receives_a_events_whatever_b_sends(user, other_user, symbols):
    a, _ = await open_with_ticket(user)
    b, _ = await open_with_ticket(other_user)
    attempts = [
        {"type": "subscribe", "symbols": [f"user.{user.pk}"]},
        {"type": "subscribe", "symbols": ["user", "*", "ticker.BTC-USD"]},
        {"type": "resume", "since": 0, "user": user.pk},
        {"type": "event.message", "seq": 1},
        {"type": "tick", "symbol": "BTC-USD"},
        {"type": "group_add", "group": f"user.{user.pk}"},
    ]
    for frame in attempts:
        await b.send_json_to(frame)
    await apublish_notes(user.pk, ["secret1", "secret2"])
    got_a = [await a.receive_json_from(timeout=5) for _ in range(2)]
    assert [f["data"]["title"] for f in got_a] == ["secret1", "secret2"]
    got_b = []
    while not await b.receive_nothing(timeout=0.5):
        got_b.append(await b.receive_json_from())
    assert [f["type"] for f in got_b] == ["error", "error", "resumed", "error", "error", "error"]
    assert got_b[2] == {"type": "resumed", "from": 1, "to": 0}
    assert not any("secret" in json.dumps(f) for f in got_b)
    await a.disconnect()
    await b.disconnect()


async def test_resume_is_exact_while_events_keep_coming(user):
    await apublish_notes(user.pk, [f"e{n}" for n in range(1, 201)])
    comm, hello = await open_with_ticket(user)
    assert hello["last_seq"] == 200

    stop = threading.Event()

    def keep_publishing():
        n = 0
        while not stop.is_set() and n < 60:
            n += 1
            publish_notes(user.pk, [f"live{n}"])

    publisher = threading.Thread(target=keep_publishing)
    publisher.start()
    await comm.send_json_to({"type": "resume", "since": 50})
    frames = await frames_until(comm, lambda f: f["type"] == "resumed")
    stop.set()
    await sync_to_async(publisher.join)()
    last = await database_sync_to_async(lambda: Event.objects.filter(user=user).count())()
    resumed = frames[-1]
    assert resumed["from"] == 51
    seqs = [f["seq"] for f in frames[:-1] if f["type"] == "event"]
    while resumed["to"] + len([x for x in seqs if x > resumed["to"]]) < last:
        frame = await comm.receive_json_from(timeout=10)
        if frame["type"] == "event":
            seqs.append(frame["seq"])
    # Every seq after 50 exactly once: no gap, no duplicate.
    assert sorted(seqs) == list(range(51, last + 1))
    # Live events sent before the resume frame was handled came first (after
    # 200, in order); then the replay of 51..200 and everything after, in order.
    live_before = seqs[: seqs.index(51)]
    assert live_before == list(range(201, 201 + len(live_before)))
    assert seqs[len(live_before) :] == [*range(51, 201), *range(201 + len(live_before), last + 1)]
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_a_bad_since_in_the_url_is_an_error_frame_not_a_crash(user):
    comm, _ = await open_with_ticket(user, query="&since=%C2%B2")  # "²": isdigit() but not int()
    error = await comm.receive_json_from(timeout=5)
    assert (error["type"], error["code"], error["field"]) == ("error", "bad_request", "since")
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=5))["type"] == "pong"  # still connected
    await comm.disconnect()


async def test_since_in_the_url_resumes_before_any_live_event(user):
    await apublish_notes(user.pk, [f"e{n}" for n in range(1, 201)])
    stop = threading.Event()

    def keep_publishing():
        for n in range(40):
            if stop.is_set():
                return
            publish_notes(user.pk, [f"live{n}"])

    publisher = threading.Thread(target=keep_publishing)
    publisher.start()
    comm, _ = await open_with_ticket(user, query="&since=120")
    frames = await frames_until(comm, lambda f: f["type"] == "resumed")
    await sync_to_async(publisher.join)()
    total = await database_sync_to_async(lambda: Event.objects.filter(user=user).count())()
    seqs = [f["seq"] for f in frames if f["type"] == "event"]
    while not seqs or seqs[-1] < total:
        frame = await comm.receive_json_from(timeout=10)
        if frame["type"] == "event":
            seqs.append(frame["seq"])
    assert seqs == list(range(121, total + 1))
    assert frames[-1]["from"] == 121
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_a_lost_layer_message_is_filled_from_the_log(user, monkeypatch):
    comm, _ = await open_with_ticket(user)
    real_send = publish_module.layer_group_send
    monkeypatch.setattr(publish_module, "layer_group_send", lambda **kwargs: False)
    await apublish_notes(user.pk, ["dropped1", "dropped2"])
    monkeypatch.setattr(publish_module, "layer_group_send", real_send)
    assert await comm.receive_nothing(timeout=0.3)
    await apublish_notes(user.pk, ["third"])
    frames = [await comm.receive_json_from(timeout=5) for _ in range(3)]
    assert [(f["seq"], f["data"]["title"]) for f in frames] == [
        (1, "dropped1"),
        (2, "dropped2"),
        (3, "third"),
    ]
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_events_the_layer_never_delivers_arrive_by_the_next_heartbeat(user, monkeypatch, settings):
    """No later event comes to reveal the gap (a subscription lost while Redis
    restarted looks like this): the heartbeat's check sends them from the log."""
    settings.WS_HEARTBEAT_SECONDS = 1
    comm, _ = await open_with_ticket(user)
    monkeypatch.setattr(publish_module, "layer_group_send", lambda **kwargs: False)
    await apublish_notes(user.pk, ["lost1", "lost2"])
    frames = await frames_until(comm, lambda f: f.get("seq") == 2, limit=10)
    events = [(f["seq"], f["data"]["title"]) for f in frames if f["type"] == "event"]
    assert events == [(1, "lost1"), (2, "lost2")]
    assert {f["type"] for f in frames} == {"heartbeat", "event"}
    # Nothing twice: the next two heartbeats find nothing missing.
    await comm.send_json_to({"type": "ping"})
    later = [await comm.receive_json_from(timeout=3) for _ in range(3)]
    assert sorted(f["type"] for f in later) == ["heartbeat", "heartbeat", "pong"]
    await comm.disconnect()


async def test_resume_ahead_is_an_error_and_pruned_is_resync(user):
    await apublish_notes(user.pk, ["a", "b", "c"])
    comm, _ = await open_with_ticket(user)
    await comm.send_json_to({"type": "resume", "since": 9})
    error = await comm.receive_json_from(timeout=5)
    assert (error["type"], error["code"], error["field"]) == ("error", "since_ahead", "since")
    await sync_to_async(event_prune)(older_than=datetime.now(tz=UTC))
    await apublish_notes(user.pk, ["d"])
    live = await comm.receive_json_from(timeout=5)
    assert live["seq"] == 4
    await comm.send_json_to({"type": "resume", "since": 1})
    assert await comm.receive_json_from(timeout=5) == {
        "type": "resync_required",
        "since": 1,
        "last_seq": 4,
        "oldest_seq": 4,
    }
    # Seq 4 already went out live on this connection: it is not sent twice.
    await comm.send_json_to({"type": "resume", "since": 3})
    assert await comm.receive_json_from(timeout=5) == {"type": "resumed", "from": 4, "to": 4}
    await comm.disconnect()


async def test_subscribe_gets_ticks_and_unsubscribe_stops_them(user, symbols):
    comm, _ = await open_with_ticket(user)
    await comm.send_json_to({"type": "subscribe", "symbols": ["BTC-USD", "GOOG"]})
    assert await comm.receive_json_from(timeout=5) == {"type": "subscribed", "symbols": ["BTC-USD", "GOOG"]}
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    await sync_to_async(publish_tick)(symbol="BTC-USD", price=Decimal("65000.12"), at=at)
    await sync_to_async(publish_tick)(symbol="ETH-USD", price=Decimal("3000.00"), at=at)
    assert await comm.receive_json_from(timeout=5) == {
        "type": "tick",
        "symbol": "BTC-USD",
        "price": "65000.12",
        "time": "2026-03-01T12:00:00+00:00",
    }
    assert await comm.receive_nothing(timeout=0.3)
    await comm.send_json_to({"type": "unsubscribe", "symbols": ["BTC-USD"]})
    assert await comm.receive_json_from(timeout=5) == {"type": "subscribed", "symbols": ["GOOG"]}
    await sync_to_async(publish_tick)(symbol="BTC-USD", price=Decimal("1"), at=at)
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_subscribe_refuses_unknown_and_too_many_symbols(user, symbols):
    comm, _ = await open_with_ticket(user)
    await comm.send_json_to({"type": "subscribe", "symbols": ["BTC-USD", "NOPE"]})
    error = await comm.receive_json_from(timeout=5)
    assert (error["code"], error["field"]) == ("bad_symbol", "symbols")
    await comm.send_json_to({"type": "subscribe", "symbols": ["GOOG"] * (MAX_SYMBOLS + 1)})
    assert (await comm.receive_json_from(timeout=5))["code"] == "bad_request"
    await comm.send_json_to({"type": "subscribe", "symbols": "GOOG"})
    assert (await comm.receive_json_from(timeout=5))["code"] == "bad_request"
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=5))["type"] == "pong"
    await comm.disconnect()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "bad_json"),
        # Deeper than the body's 32 levels: the decoder recursed into a 1011 at ~1,000.
        ("[" * 2000 + "]" * 2000, "bad_json"),
        ('{"type": "ping", "x": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}", "bad_json"),
        ('{"type": "ping", "type": "resume"}', "bad_json"),  # duplicate key: which one was meant?
        ('{"type": "ping", "x": NaN}', "bad_json"),
        ('{"type": "\\ud800"}', "bad_json"),  # a lone surrogate escape
        ("[1, 2]", "bad_request"),
        ('{"since": 1}', "bad_request"),
        ('{"type": "launch"}', "unknown_type"),
        ('{"type": "resume", "since": "1"}', "bad_request"),
        ('{"type": "resume", "since": -1}', "bad_request"),
        ('{"type": "resume", "since": true}', "bad_request"),
    ],
)
async def test_malformed_input_gets_an_error_and_the_connection_stays(user, raw, code):
    comm, _ = await open_with_ticket(user)
    await comm.send_to(text_data=raw)
    error = await comm.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", code)
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=5))["type"] == "pong"
    await comm.disconnect()


async def test_binary_frame_gets_an_error(user):
    comm, _ = await open_with_ticket(user)
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await comm.receive_json_from(timeout=5))["code"] == "bad_request"
    await comm.disconnect()


async def test_oversize_frame_closes_with_4013(user, settings):
    comm, _ = await open_with_ticket(user)
    await comm.send_to(text_data=json.dumps({"type": "ping", "pad": "x" * settings.WS_MAX_FRAME_BYTES}))
    assert await closed_with(comm) == CLOSE_TOO_BIG
    await comm.disconnect()


async def test_a_frame_at_the_limit_is_accepted(user, settings):
    comm, _ = await open_with_ticket(user)
    frame = '{"type":"ping","pad":"' + "x" * (settings.WS_MAX_FRAME_BYTES - 24) + '"}'
    assert len(frame.encode()) == settings.WS_MAX_FRAME_BYTES
    await comm.send_to(text_data=frame)
    assert (await comm.receive_json_from(timeout=5))["type"] == "pong"
    await comm.disconnect()


async def test_flood_gets_an_error_then_4029(user, settings):
    settings.WS_MAX_MESSAGES_PER_SECOND = 5
    comm, _ = await open_with_ticket(user)
    for _ in range(6):
        await comm.send_json_to({"type": "ping"})
    frames = [await comm.receive_json_from(timeout=5) for _ in range(6)]
    assert [f["type"] for f in frames] == ["pong"] * 5 + ["error"]
    assert frames[-1]["code"] == "rate_limited"
    assert await closed_with(comm) == CLOSE_RATE_LIMITED
    await comm.disconnect()


async def test_heartbeat_is_sent_and_a_silent_client_is_closed(user, settings):
    settings.WS_HEARTBEAT_SECONDS = 1
    comm, hello = await open_with_ticket(user)
    assert hello["heartbeat"] == 1
    frame = await comm.receive_json_from(timeout=3)
    assert frame["type"] == "heartbeat"
    types = []
    while True:
        message = await comm.receive_output(timeout=6)
        if message["type"] == "websocket.close":
            break
        types.append(json.loads(message["text"])["type"])
    assert message["code"] == CLOSE_SILENT
    assert set(types) == {"heartbeat"}
    await comm.disconnect()


async def test_a_client_that_pings_is_kept(user, settings):
    settings.WS_HEARTBEAT_SECONDS = 1
    comm, _ = await open_with_ticket(user)
    for _ in range(5):
        await asyncio.sleep(1)
        await comm.send_json_to({"type": "ping"})
    frames = []
    while not await comm.receive_nothing(timeout=0.2):
        frames.append(await comm.receive_json_from())
    assert {f["type"] for f in frames} <= {"pong", "heartbeat"}
    assert [f["type"] for f in frames].count("pong") == 5
    await comm.disconnect()


async def test_a_backlogged_connection_drops_its_queue_and_catches_up_from_the_log(user, monkeypatch):
    from realtime.consumers import StreamConsumer

    comm, _ = await open_with_ticket(user)
    reports = iter([5000])  # the first event finds a huge backlog, then none
    monkeypatch.setattr(StreamConsumer, "_backlog", lambda self: next(reports, 0))
    await apublish_notes(user.pk, ["a", "b", "c"])
    frames = [await comm.receive_json_from(timeout=5) for _ in range(3)]
    assert [(f["seq"], f["data"]["title"]) for f in frames] == [(1, "a"), (2, "b"), (3, "c")]
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()


async def test_a_failing_missed_event_check_does_not_stop_the_heartbeat(user, settings, monkeypatch):
    from realtime.consumers import StreamConsumer

    async def broken(self):
        raise RuntimeError("database restarting")

    monkeypatch.setattr(StreamConsumer, "_missed_check", broken)
    settings.WS_HEARTBEAT_SECONDS = 1
    comm, _ = await open_with_ticket(user)
    await comm.send_json_to({"type": "ping"})
    frames = [await comm.receive_json_from(timeout=3) for _ in range(3)]
    assert sorted(f["type"] for f in frames) == ["heartbeat", "heartbeat", "pong"]
    await comm.disconnect()
