"""The WebSocket consumer at /ws/stream/ (protocol: docs/realtime.md).

What it does, and nothing more: authenticate at connect (realtime.auth), join
`user.<own id>` (never a group a client names) and the ticker groups of
validated symbols, and turn events and ticks into frames.

Exactness. `last_sent` is the highest seq this connection has sent. Channels
dispatches one message at a time per consumer, so while a replay (resume)
awaits the database, live messages wait in the layer's queue and are handled
after it: a live event with seq ≤ last_sent is dropped (already replayed); one
with seq > last_sent + 1 means the layer lost something (pub/sub has no
delivery guarantee, Redis may have restarted) and the missing seqs are read
from the database before it is sent. So a connection sends each seq at most
once, in order, with no hole.

Backlog bound. The pub/sub layer queues a consumer's messages without limit.
When more than WS_MAX_BACKLOG messages are waiting, the consumer drops the
queue and catches up from the database instead (events), skipping stale
ticks: memory per connection stays bounded and nothing is lost.
"""

import asyncio
import collections
import json
import logging
import re
import time
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from core.parsers import loads_frame
from realtime import selectors
from realtime.auth import authenticate
from realtime.close_codes import (
    CLOSE_RATE_LIMITED,
    CLOSE_SILENT,
    CLOSE_TOO_BIG,
    CLOSE_UNAUTHENTICATED,
    too_big_reason,
    too_many_connections_reason,
)
from realtime.coalesce import Coalescer
from realtime.db import db
from realtime.groups import ticker_group, user_group
from realtime.publish import event_frame
from realtime.registry import symbol_is_valid

logger = logging.getLogger(__name__)

MAX_SYMBOLS = 50
# Open streams per user in this process (one event loop: no lock needed). Per
# process, not global, on purpose: a global count is a Redis round trip per
# accept and per heartbeat, and a killed process's entries would need expiry.
# With N web processes a user may hold up to N x the limit (docs/scaling.md).
_open_per_user: collections.Counter[int] = collections.Counter()
SINCE = re.compile(r"[0-9]{1,18}")
WS_MAX_BACKLOG = 1000
# The reads every stream makes (at accept, and at each heartbeat), batched
# across the streams that make them at the same moment: a reconnect storm
# is hundreds of accepts at once, and heartbeats fall due together after it.
_stream_starts: Coalescer[int, int | None] = Coalescer(db(selectors.stream_starts))
_last_seqs: Coalescer[int, int] = Coalescer(db(selectors.event_last_seqs))


class StreamConsumer(AsyncWebsocketConsumer):
    user_id: int | None = None
    counted_user: int | None = None  # counted in _open_per_user until disconnect

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels (4.2+) runs close_old_connections through sync_to_async
        # before every handler: a thread hop per event, the largest per-event
        # cost in a profile of the fan-out bench. Every database access here
        # goes through realtime.db.db (database_sync_to_async), which closes
        # old connections around each call in its own thread, so the hop
        # protects nothing. Framework internal: a copy of
        # `channels.consumer.AsyncConsumer.dispatch` (channels/consumer.py)
        # without the `aclose_old_connections()` call;
        # tests/realtime/test_channels_internals.py fails when upstream changes.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.symbols: set[str] = set()
        self.last_sent = 0
        self.closing = False
        self.heartbeat_task: asyncio.Task[None] | None = None
        self.window_start = time.monotonic()
        self.window_count = 0
        self.last_heard = time.monotonic()
        self.max_frame = settings.WS_MAX_FRAME_BYTES
        self.max_rate = settings.WS_MAX_MESSAGES_PER_SECOND
        self.heartbeat = settings.WS_HEARTBEAT_SECONDS
        # Event frames go out from the dispatch loop and from the heartbeat's
        # check: one at a time, so a seq is never sent twice or out of order.
        self.events_lock = asyncio.Lock()

        result = await authenticate(self.scope)
        # Accept first, then close: a close before accept is a bare HTTP 403
        # and the client would never see the documented 4xxx code.
        await self.accept()
        if result.user_id is None:
            self.closing = True
            await self.close(code=result.close_code, reason=result.reason)
            return
        limit = settings.WS_MAX_CONNECTIONS_PER_USER
        if _open_per_user[result.user_id] >= limit:
            self.closing = True
            await self.close(code=CLOSE_RATE_LIMITED, reason=too_many_connections_reason(limit))
            return
        _open_per_user[result.user_id] += 1
        self.counted_user = result.user_id
        # Join before reading last_seq: an event committed in between is then
        # either counted in last_seq or delivered live, never neither.
        await self.channel_layer.group_add(user_group(result.user_id), self.channel_name)
        last_seq = await _stream_starts.get(result.user_id)
        if last_seq is None:  # deactivated since its ticket was issued
            await self.channel_layer.group_discard(user_group(result.user_id), self.channel_name)
            self.closing = True
            await self.close(code=CLOSE_UNAUTHENTICATED, reason="user inactive")
            return
        self.user_id, self.last_sent = result.user_id, last_seq
        # Seqs in (floor, last_sent] have been sent on this connection.
        self.floor = self.last_sent
        await self.send_frame(
            {
                "type": "hello",
                "user": self.user_id,
                "last_seq": self.last_sent,
                "server_time": timezone.now().isoformat(),
                "heartbeat": self.heartbeat,
                "max_frame_bytes": self.max_frame,
                "max_messages_per_second": self.max_rate,
            }
        )
        self.heartbeat_task = asyncio.ensure_future(self._heartbeat())
        since = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("since")
        if since:
            # ASCII digits only (str.isdigit() also takes "²", which int() refuses);
            # anything else is answered by action_resume's bad_request frame.
            value = int(since[0]) if SINCE.fullmatch(since[0]) else None
            await self.action_resume({"since": value})

    async def disconnect(self, code: int) -> None:
        self.closing = True
        if self.counted_user is not None:
            _open_per_user[self.counted_user] -= 1
            if _open_per_user[self.counted_user] <= 0:
                del _open_per_user[self.counted_user]
            self.counted_user = None
        if self.heartbeat_task is not None:
            self.heartbeat_task.cancel()
        if self.user_id is not None:
            await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
            for symbol in self.symbols:
                await self.channel_layer.group_discard(ticker_group(symbol), self.channel_name)

    # --- frames in -------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.user_id is None or self.closing:
            return
        self.last_heard = time.monotonic()
        size = len(bytes_data) if bytes_data is not None else len((text_data or "").encode())
        if size > self.max_frame:
            await self._close(CLOSE_TOO_BIG, too_big_reason(self.max_frame))
            return
        if not self._within_rate():
            reason = f"more than {self.max_rate} messages per second"
            await self.send_error("rate_limited", reason)
            await self._close(CLOSE_RATE_LIMITED, reason)
            return
        if bytes_data is not None:
            await self.send_error("bad_request", "binary frames are not supported; send JSON text")
            return
        try:
            frame = loads_frame(text_data or "")
        except ValueError as exc:  # also too deep (the decoder recurses per level), duplicate keys
            await self.send_error("bad_json", f"the frame is not valid JSON: {exc}")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            await self.send_error("bad_request", "a frame is a JSON object with a string `type`")
            return
        handler = self.ACTIONS.get(frame["type"])
        if handler is None:
            await self.send_error("unknown_type", f"unknown frame type {frame['type'][:40]!r}")
            return
        await handler(self, frame)

    def _within_rate(self) -> bool:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        return self.window_count <= self.max_rate

    async def action_ping(self, frame: dict[str, Any]) -> None:
        await self.send_frame({"type": "pong", "server_time": timezone.now().isoformat()})

    async def action_pong(self, frame: dict[str, Any]) -> None:
        """A client's answer to nothing in particular: it only proves liveness."""

    async def action_resume(self, frame: dict[str, Any]) -> None:
        async with self.events_lock:
            await self._resume(frame)

    async def _resume(self, frame: dict[str, Any]) -> None:
        assert self.user_id is not None
        since = frame.get("since")
        if not isinstance(since, int) or isinstance(since, bool) or since < 0:
            await self.send_error("bad_request", "`since` must be a non-negative integer", field="since")
            return
        check = await db(selectors.event_resume_check)(user_id=self.user_id, since=since)
        if check.status is selectors.ResumeStatus.AHEAD:
            await self.send_error(
                "since_ahead", f"since={since} is after the last seq {check.last_seq}", field="since"
            )
            return
        if check.status is selectors.ResumeStatus.PRUNED:
            self.last_sent = max(self.last_sent, check.last_seq)
            await self.send_frame(
                {
                    "type": "resync_required",
                    "since": since,
                    "last_seq": check.last_seq,
                    "oldest_seq": check.oldest_seq,
                }
            )
            return
        # A seq goes out once per connection: live events sent since `hello`
        # (floor, last_sent] are not replayed again, so a client resuming
        # with a frame may see them before the older ones, never twice.
        if since < self.floor:
            await self._replay(after=since, upto=self.floor)
            self.floor = since
        self.last_sent = max(self.last_sent, await self._replay(after=max(since, self.last_sent), upto=None))
        await self.send_frame({"type": "resumed", "from": since + 1, "to": max(since, self.last_sent)})

    async def _replay(self, *, after: int, upto: int | None) -> int:
        """Send the stored events after `after` (through `upto`, or all); the last seq sent."""
        assert self.user_id is not None
        cursor = after
        while upto is None or cursor < upto:
            page = await db(selectors.event_list_since)(
                user_id=self.user_id, since=cursor, limit=selectors.MAX_PAGE
            )
            for event in page:
                if upto is not None and event.seq > upto:
                    return cursor
                await self.send_frame(event_frame(event))
                cursor = event.seq
            if len(page) < selectors.MAX_PAGE:
                break
        return cursor

    async def action_subscribe(self, frame: dict[str, Any]) -> None:
        symbols = frame.get("symbols")
        if not isinstance(symbols, list) or not symbols or len(symbols) > MAX_SYMBOLS:
            await self.send_error(
                "bad_request", f"`symbols` is a list of 1 to {MAX_SYMBOLS} symbols", field="symbols"
            )
            return
        wanted = []
        for symbol in symbols:
            if not await db(symbol_is_valid)(symbol):
                await self.send_error("bad_symbol", f"unknown symbol {str(symbol)[:40]!r}", field="symbols")
                return
            wanted.append(symbol)
        new = [s for s in dict.fromkeys(wanted) if s not in self.symbols]
        if len(self.symbols) + len(new) > MAX_SYMBOLS:
            await self.send_error(
                "too_many_symbols", f"at most {MAX_SYMBOLS} symbols per connection", field="symbols"
            )
            return
        for symbol in new:
            await self.channel_layer.group_add(ticker_group(symbol), self.channel_name)
            self.symbols.add(symbol)
        await self.send_frame({"type": "subscribed", "symbols": sorted(self.symbols)})

    async def action_unsubscribe(self, frame: dict[str, Any]) -> None:
        symbols = frame.get("symbols")
        if not isinstance(symbols, list) or len(symbols) > MAX_SYMBOLS:
            await self.send_error(
                "bad_request", f"`symbols` is a list of at most {MAX_SYMBOLS} symbols", field="symbols"
            )
            return
        for symbol in symbols:
            if isinstance(symbol, str) and symbol in self.symbols:
                await self.channel_layer.group_discard(ticker_group(symbol), self.channel_name)
                self.symbols.discard(symbol)
        await self.send_frame({"type": "subscribed", "symbols": sorted(self.symbols)})

    ACTIONS = {
        "ping": action_ping,
        "pong": action_pong,
        "resume": action_resume,
        "subscribe": action_subscribe,
        "unsubscribe": action_unsubscribe,
    }

    # --- channel-layer messages out --------------------------------------

    async def event_message(self, message: dict[str, Any]) -> None:
        if self.user_id is None or self.closing:
            return
        async with self.events_lock:
            await self._event_send(message)

    async def _event_send(self, message: dict[str, Any]) -> None:
        seq = int(message["seq"])
        if self._backlog() > WS_MAX_BACKLOG:
            self._drop_backlog()
            await self._catch_up(upto=None)
            return
        if seq <= self.last_sent:
            return
        if seq > self.last_sent + 1:
            await self._catch_up(upto=seq)
            return
        await self.send_frame(
            {
                "type": "event",
                "seq": seq,
                "event": message["event"],
                "time": message["time"],
                "data": message["data"],
            }
        )
        self.last_sent = seq

    async def tick(self, message: dict[str, Any]) -> None:
        if self.user_id is None or self.closing or message.get("symbol") not in self.symbols:
            return
        if self._backlog() > WS_MAX_BACKLOG:
            self._drop_backlog()
            async with self.events_lock:
                await self._catch_up(upto=None)
        await self.send_frame(
            {"type": "tick", "symbol": message["symbol"], "price": message["price"], "time": message["time"]}
        )

    async def _catch_up(self, *, upto: int | None) -> None:
        """Send the stored events after last_sent (up to `upto`, or all)."""
        assert self.user_id is not None
        while True:
            if upto is None:
                page = await db(selectors.event_list_since)(
                    user_id=self.user_id, since=self.last_sent, limit=selectors.MAX_PAGE
                )
            else:
                page = await db(selectors.event_list_range)(
                    user_id=self.user_id,
                    after=self.last_sent,
                    upto=min(upto, self.last_sent + selectors.MAX_PAGE),
                )
            for event in page:
                await self.send_frame(event_frame(event))
                self.last_sent = event.seq
            if not page or (upto is not None and self.last_sent >= upto) or len(page) < selectors.MAX_PAGE:
                return

    def _layer_queue(self) -> "asyncio.Queue[Any] | None":
        # The pub/sub layer keeps one queue per channel in the loop's layer;
        # not public API, so any change there just disables the bound.
        try:
            return self.channel_layer._get_layer().channels.get(self.channel_name)  # type: ignore[no-any-return]
        except Exception:
            return None

    def _backlog(self) -> int:
        queue = self._layer_queue()
        return queue.qsize() if queue is not None else 0

    def _drop_backlog(self) -> None:
        queue = self._layer_queue()
        dropped = 0
        while queue is not None and not queue.empty():
            queue.get_nowait()
            dropped += 1
        logger.info(
            "user %s: dropped a backlog of %d messages; catching up from the log", self.user_id, dropped
        )

    # --- helpers ----------------------------------------------------------

    async def send_frame(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))

    async def send_error(self, code: str, message: str, *, field: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if field is not None:
            frame["field"] = field
        await self.send_frame(frame)

    async def _close(self, code: int, reason: str) -> None:
        self.closing = True
        await self.close(code=code, reason=reason)

    async def _missed_check(self) -> None:
        """Events stored but never received from the layer: a subscription
        lost while Redis restarted reports nothing, and the gap fill above
        only runs when a later event arrives. So once per heartbeat the log's
        last seq is compared with the last one sent (one read, shared by the
        streams whose heartbeats fall due together);
        if the layer missed any, they are sent from the log and the group is
        joined again, which is harmless when the subscription was there."""
        assert self.user_id is not None
        last = await _last_seqs.get(self.user_id)
        if last <= self.last_sent:
            return
        async with self.events_lock:
            if last <= self.last_sent:  # delivered live meanwhile
                return
            logger.info(
                "user %s: events %d..%d not received from the channel layer yet; sending them from the log",
                self.user_id,
                self.last_sent + 1,
                last,
            )
            await self.channel_layer.group_add(user_group(self.user_id), self.channel_name)
            await self._catch_up(upto=last)

    async def _heartbeat(self) -> None:
        try:
            while not self.closing:
                await asyncio.sleep(self.heartbeat)
                if time.monotonic() - self.last_heard > 3 * self.heartbeat:
                    await self._close(CLOSE_SILENT, f"no frame for {3 * self.heartbeat} s")
                    return
                await self.send_frame({"type": "heartbeat", "server_time": timezone.now().isoformat()})
                try:
                    await self._missed_check()
                except Exception:
                    # A database blip must not end the heartbeat (and with it
                    # the silent-client close and this check) for good.
                    logger.warning("missed-event check of user %s failed", self.user_id, exc_info=True)
        except asyncio.CancelledError:
            pass
        except Exception:
            logger.exception("heartbeat of user %s failed", self.user_id)
