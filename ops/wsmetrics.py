"""WebSocket connection and delivery counts, observed from outside the consumer.

`stream_metrics(app)` wraps the WebSocket ASGI application (config/asgi.py).
It watches the messages the consumer sends: `websocket.accept` opens a
connection, `websocket.close` or the end of the connection closes it, and a
`websocket.send` whose text is an `event` frame counts one delivered event.
The consumer itself is untouched (it belongs to realtime).

Each process keeps its own numbers and publishes them to Redis at most once a
second (and on every connect and disconnect): its open-connection count as
`ws:proc:<host>:<pid>` with a 90-second expiry, so a process that dies stops
counting within 90 s; delivered events by `INCRBY` on `ws:delivered`, and the
`time` of the newest event frame sent as `ws:last_event_time`. While
connections are open the consumer's heartbeats (every WS_HEARTBEAT_SECONDS)
keep the key fresh. Publishing is fire-and-forget on the event loop: a Redis
outage never delays or breaks a frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
from typing import Any, cast

from redis.exceptions import RedisError

from ops.store import ops_key, redis_client, redis_client_async

logger = logging.getLogger(__name__)

PROCESS_KEY_TTL_SECONDS = 90
FLUSH_EVERY_SECONDS = 1.0
REFRESH_EVERY_SECONDS = 15.0
FLUSH_STUCK_SECONDS = 5.0
_EVENT_PREFIX = '{"type":"event"'


class _ProcessCounters:
    """This process's numbers; only touched from its event loop thread."""

    def __init__(self) -> None:
        self.open = 0
        self.delivered_unflushed = 0
        self.last_event_time: str | None = None
        self.last_flush = 0.0
        self.last_refresh = 0.0
        self.pending = False
        # When the running flush started (0: none). A flush whose loop was
        # closed under it (a test's loop) is treated as finished after a while.
        self.flush_started = 0.0
        self.flush_task: asyncio.Future[None] | None = None
        self.name = f"{socket.gethostname()}:{os.getpid()}"

    def maybe_flush(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if force:
            self.pending = True
        due = self.pending or (
            (self.delivered_unflushed and now - self.last_flush >= FLUSH_EVERY_SECONDS)
            or now - self.last_refresh >= REFRESH_EVERY_SECONDS
        )
        if not due or (self.flush_started and now - self.flush_started < FLUSH_STUCK_SECONDS):
            return
        self.flush_started = now
        # Kept so the task is not garbage-collected mid-flight.
        self.flush_task = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        try:
            while True:
                self.pending = False
                self.last_flush = self.last_refresh = time.monotonic()
                delivered, self.delivered_unflushed = self.delivered_unflushed, 0
                last_time, self.last_event_time = self.last_event_time, None
                await self._write(delivered, last_time)
                # A connect or disconnect during the write: publish the new count too.
                if not self.pending:
                    return
        finally:
            self.flush_started = 0.0

    async def _write(self, delivered: int, last_time: str | None) -> None:
        try:
            pipe = redis_client_async().pipeline(transaction=False)
            pipe.set(ops_key("ws", "proc", self.name), self.open, ex=PROCESS_KEY_TTL_SECONDS)
            if delivered:
                pipe.incrby(ops_key("ws", "delivered"), delivered)
            if last_time:
                pipe.set(ops_key("ws", "last_event_time"), last_time)
            await pipe.execute()
        except (RedisError, OSError):
            # Counts are best effort; keep the delivered count for the next flush.
            self.delivered_unflushed += delivered
            logger.warning("ops: could not publish WebSocket counters (Redis unavailable)")
        except Exception:
            logger.exception("ops: could not publish WebSocket counters")


_counters = _ProcessCounters()


def _event_time(text: str) -> str | None:
    try:
        value = json.loads(text).get("time")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def stream_metrics(app: Any) -> Any:
    """Wrap a WebSocket ASGI app so its connections and event frames are counted."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "websocket":
            await app(scope, receive, send)
            return
        accepted = False

        async def counting_send(message: dict[str, Any]) -> None:
            nonlocal accepted
            kind = message.get("type")
            await send(message)
            if kind == "websocket.accept" and not accepted:
                accepted = True
                _counters.open += 1
                _counters.maybe_flush(force=True)
            elif kind == "websocket.send":
                text = message.get("text")
                if text and text.startswith(_EVENT_PREFIX):
                    _counters.delivered_unflushed += 1
                    _counters.last_event_time = _event_time(text) or _counters.last_event_time
                _counters.maybe_flush()

        try:
            await app(scope, receive, counting_send)
        finally:
            if accepted:
                _counters.open -= 1
                _counters.maybe_flush(force=True)

    return wrapped


# --- readers (sync: the health endpoint and /metrics) -----------------------------


def ws_connections_open() -> int:
    """Open connections over every live web process."""
    client = redis_client()
    keys = list(client.scan_iter(match=ops_key("ws", "proc", "*"), count=500))
    if not keys:
        return 0
    values = cast(list[str | None], client.mget(keys))
    return sum(int(value) for value in values if value is not None)


def ws_events_delivered() -> int:
    value = cast(str | None, redis_client().get(ops_key("ws", "delivered")))
    return int(value) if value else 0


def ws_last_event_time() -> str | None:
    value = cast(str | None, redis_client().get(ops_key("ws", "last_event_time")))
    return str(value) if value else None
