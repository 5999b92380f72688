"""WebSocket connection and delivery counts, observed from outside the consumer.

`stream_metrics(app)` wraps the WebSocket ASGI application (config/asgi.py).
It watches the messages the consumer sends: `websocket.accept` opens a
connection, `websocket.close` or the end of the connection closes it, and a
`websocket.send` whose text is an `event` frame counts one delivered event.
The consumer itself is untouched (it belongs to realtime).

Each web process keeps its own numbers and publishes them to Redis at most
once a second (and on every connect and disconnect), and on its heartbeat
every `OPS_HEARTBEAT_SECONDS`: its open-connection count in its process hash
`ops:proc:web:<host>:<pid>` (ops/processes.py: the ops page lists it with
its last heartbeat; the global count is the sum over live processes, so a
process that dies stops counting within 3 heartbeats); delivered events by
`INCRBY` on `ws:delivered`, and the `time` of the newest event frame sent
as `ws:last_event_time`. The heartbeat runs on the server's event loop from
the moment it serves (realtime/lifecycle.py hooks, connected in
ops/apps.py); draining marks the hash `draining`, and a clean exit deletes
it. Publishing is fire-and-forget on the event loop: a Redis outage never
delays or breaks a frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from typing import Any, cast

from redis.exceptions import RedisError

from ops import processes
from ops.store import ops_key, redis_client, redis_client_async

logger = logging.getLogger(__name__)

FLUSH_EVERY_SECONDS = 1.0
FLUSH_STUCK_SECONDS = 5.0
_EVENT_PREFIX = '{"type":"event"'


class _ProcessCounters:
    """This process's numbers; only touched from its event loop thread."""

    def __init__(self) -> None:
        self.open = 0
        self.delivered_unflushed = 0
        self.last_event_text: str | None = None  # the last event frame sent, parsed at flush
        self.last_flush = 0.0
        self.last_refresh = 0.0
        self.pending = False
        # When the running flush started (0: none). A flush whose loop was
        # closed under it (a test's loop) is treated as finished after a while.
        self.flush_started = 0.0
        self.flush_task: asyncio.Future[None] | None = None
        self.heartbeat_task: asyncio.Future[None] | None = None
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.instance = uuid.uuid4().hex  # this process's life, for its goodbye (ops/processes.py)
        self.started_at = time.time()
        self.state = "serving"
        # Set as the process exits: no flush starts after that (and one in
        # flight finds the goodbye's tombstone in Redis).
        self.stopped = False

    def maybe_flush(self, *, force: bool = False) -> None:
        if self.stopped:
            return
        now = time.monotonic()
        if force:
            self.pending = True
        due = self.pending or (
            (self.delivered_unflushed and now - self.last_flush >= FLUSH_EVERY_SECONDS)
            or now - self.last_refresh >= processes.heartbeat_seconds()
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
                last_text, self.last_event_text = self.last_event_text, None
                await self._write(delivered, last_text)
                # A connect or disconnect during the write: publish the new count too.
                if not self.pending:
                    return
        finally:
            self.flush_started = 0.0

    async def _write(self, delivered: int, last_text: str | None) -> None:
        last_time = _event_time(last_text) if last_text else None
        try:
            record = processes.process_record(
                processes.WEB,
                self.name,
                started_at=self.started_at,
                state=self.state,
                connections=self.open,
            )
            pipe = redis_client_async().pipeline(transaction=False)
            pipe.eval(*processes.process_write_args(processes.WEB, self.name, self.instance, record))
            if delivered:
                pipe.incrby(ops_key("ws", "delivered"), delivered)
            if last_time:
                pipe.set(ops_key("ws", "last_event_time"), last_time)
            await pipe.execute()
        except (RedisError, OSError):
            # Counts are best effort; keep the delivered count and the last
            # event (unless a newer one came meanwhile) for the next flush.
            self.delivered_unflushed += delivered
            self.last_event_text = self.last_event_text or last_text
            logger.warning("ops: could not publish WebSocket counters (Redis unavailable)")
        except Exception:
            logger.exception("ops: could not publish WebSocket counters")

    async def _heartbeat(self) -> None:
        while True:
            self.maybe_flush(force=True)
            await asyncio.sleep(processes.heartbeat_seconds())


_counters = _ProcessCounters()


# --- the server's life (realtime.lifecycle hooks, connected in ops/apps.py) ---------


def web_started() -> None:
    """On the server's event loop, once it serves: heartbeats from now on."""
    if _counters.heartbeat_task is None:
        _counters.heartbeat_task = asyncio.ensure_future(_counters._heartbeat())


def web_draining() -> None:
    _counters.state = "draining"
    _counters.maybe_flush(force=True)


def web_stopped() -> None:
    """The process exits: its hash goes (a sync call: the loop is stopping)."""
    _counters.stopped = True
    if _counters.heartbeat_task is not None:
        _counters.heartbeat_task.cancel()
    try:
        processes.process_forget(processes.WEB, _counters.name, instance=_counters.instance)
    except (RedisError, OSError):
        logger.warning("ops: could not remove this web process's record (Redis unavailable)")


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
                    # Parsed for its time only when flushed, not per frame.
                    _counters.last_event_text = text
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
    return processes.web_connections_open()


def ws_events_delivered() -> int:
    value = cast(str | None, redis_client().get(ops_key("ws", "delivered")))
    return int(value) if value else 0


def ws_last_event_time() -> str | None:
    value = cast(str | None, redis_client().get(ops_key("ws", "last_event_time")))
    return str(value) if value else None
