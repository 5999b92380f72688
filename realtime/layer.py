"""Sending to the channel layer from synchronous code (web requests, Celery
tasks, management commands).

`async_to_sync(layer.group_send)` creates and closes an event loop per call in
a thread without one, and a channel layer that cached a Redis connection on a
closed loop fails with "Event loop is closed" on the next call
(channels_redis#332; it bites Celery workers). Instead each process runs one
long-lived event loop in a daemon thread and every synchronous send is handed
to it: the loop never closes, its Redis connection is reused, and sends are
executed in submission order (the layer's publish is serialised by an
`asyncio.Lock`, which is FIFO). After `fork()` (Celery prefork) the child
notices the pid change and starts its own loop.

A failed send is logged, never raised: the event is already committed in the
outbox and clients recover it by resume or by the consumer's gap fill.

`publish` does not wait for Redis (`wait=False`): the committing thread only
hands the message over (a round trip less per event, measured in
docs/realtime.md). `publish_many` hands a commit's messages over in one
piece (`layer_group_send_many`): one wake-up of the sender loop per commit,
not one per event (a settlement batch publishes 500). Every send, single or
many, takes the loop's `_order` lock first, so sends leave in call order and
a batch's messages are not interleaved with later sends. At most
MAX_IN_FLIGHT sends (a batch counts as one) are pending (a slow Redis slows
publishers rather than growing memory), and an `atexit` hook gives pending
sends SEND_TIMEOUT_SECONDS to finish so a management command that exits
right after publishing still sends.
"""

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
from collections.abc import Sequence
from typing import Any

from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0
MAX_IN_FLIGHT = 10_000

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_in_flight: set[concurrent.futures.Future[bool]] = set()
_slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
_order: asyncio.Lock | None = None  # created in the sender loop (its own per process)


def _sender_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid, _in_flight, _slots, _order
    with _lock:
        if _loop is None or _loop_pid != os.getpid():
            if _loop_pid is not None and _loop_pid != os.getpid():
                # A forked child: the parent's pending sends are not ours.
                _in_flight, _slots = set(), threading.BoundedSemaphore(MAX_IN_FLIGHT)
            loop = asyncio.new_event_loop()
            _order = None
            thread = threading.Thread(target=loop.run_forever, name="realtime-sender", daemon=True)
            thread.start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def _order_lock() -> asyncio.Lock:
    """The FIFO lock every send takes (in the sender loop's thread)."""
    global _order
    if _order is None:
        _order = asyncio.Lock()
    return _order


async def _send_one(group: str, message: dict[str, Any]) -> bool:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    try:
        await layer.group_send(group, message)
    except (RedisError, OSError) as exc:
        # Redis away (restarting, unreachable): expected, and every send fails
        # alike while it lasts, so one line each, not a traceback each.
        logger.warning(
            "channel layer send to %s failed (%s: %s); clients recover it by resume",
            group,
            type(exc).__name__,
            exc,
        )
        return False
    except Exception:
        logger.warning("channel layer send to %s failed; clients recover it by resume", group, exc_info=True)
        return False
    return True


async def _group_send(group: str, message: dict[str, Any]) -> bool:
    """True once Redis accepted the message; False (logged) if it failed.

    Failures are logged here, in the loop, so the log line exists by the time
    anyone waiting on the send wakes up."""
    async with _order_lock():
        return await _send_one(group, message)


async def _group_send_many(sends: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """Each (group, message) in order, none interleaved with another send;
    True if Redis accepted every one (a failure is logged and the rest still go).

    With the Redis pub/sub layer the messages go as one pipeline per Redis
    shard (`_pipelined`): one round trip for a whole settlement batch
    instead of one per event, which cost the sending process more CPU than
    the rest of publishing."""
    layer = get_channel_layer()
    async with _order_lock():
        if isinstance(layer, RedisPubSubChannelLayer):
            return await _pipelined(layer, sends)
        ok = True
        for group, message in sends:
            ok = await _send_one(group, message) and ok
        return ok


async def _pipelined(layer: RedisPubSubChannelLayer, sends: Sequence[tuple[str, dict[str, Any]]]) -> bool:
    """`group_send` of each message, as channels_redis does it (PUBLISH of the
    serialized message on the group's channel, on the group's shard, under
    the shard's lock), but one pipeline per shard.

    Framework internal: the shard lookup, the channel name, the shard's lock
    and its Redis client are private to channels_redis
    (`channels_redis/pubsub.py`: `RedisPubSubLoopLayer._get_group_channel_name`,
    `_get_shard`, `RedisSingleShardConnection._lock`, `_ensure_redis`,
    `_redis`); tests/realtime/test_layer.py pins them."""
    loop_layer = layer._get_layer()
    by_shard: dict[Any, list[tuple[str, bytes]]] = {}
    for group, message in sends:
        channel = loop_layer._get_group_channel_name(group)
        by_shard.setdefault(loop_layer._get_shard(channel), []).append((channel, layer.serialize(message)))
    ok = True
    for shard, items in by_shard.items():
        try:
            async with shard._lock:
                shard._ensure_redis()
                pipe = shard._redis.pipeline(transaction=False)
                for channel, data in items:
                    pipe.publish(channel, data)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # Redis away: expected while it lasts, one line (as `_send_one`).
            logger.warning(
                "channel layer send of %s messages failed (%s: %s); clients recover them by resume",
                len(items),
                type(exc).__name__,
                exc,
            )
            ok = False
        except Exception:
            logger.warning(
                "channel layer send of %s messages failed; clients recover them by resume",
                len(items),
                exc_info=True,
            )
            ok = False
    return ok


def _sent(future: concurrent.futures.Future[bool]) -> None:
    _in_flight.discard(future)
    _slots.release()


def layer_group_send(*, group: str, message: dict[str, Any], wait: bool = True) -> bool:
    """Send `message` to `group`; with `wait`, block until Redis accepted it.

    Returns False (and logs) when a waited send failed; an unwaited send
    reports its failure in the log. Sends leave in call order. Must not be
    called from the sender loop's own thread."""
    loop = _sender_loop()
    _slots.acquire()
    future = asyncio.run_coroutine_threadsafe(_group_send(group, message), loop)
    _in_flight.add(future)
    future.add_done_callback(_sent)
    if not wait:
        return True
    try:
        return future.result(timeout=SEND_TIMEOUT_SECONDS)
    except concurrent.futures.TimeoutError:
        future.cancel()
        logger.warning("channel layer send to %s timed out; clients recover it by resume", group)
        return False


def layer_group_send_many(*, sends: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Send each (group, message) in order without waiting: `layer_group_send`
    with `wait=False` for many messages, handed to the sender loop at once."""
    if not sends:
        return
    loop = _sender_loop()
    _slots.acquire()
    future = asyncio.run_coroutine_threadsafe(_group_send_many(list(sends)), loop)
    _in_flight.add(future)
    future.add_done_callback(_sent)


@atexit.register
def layer_drain(timeout: float = SEND_TIMEOUT_SECONDS) -> None:
    """Wait (bounded) for the sends still in flight."""
    pending = [f for f in list(_in_flight) if not f.done()]
    if pending:
        concurrent.futures.wait(pending, timeout=timeout)
