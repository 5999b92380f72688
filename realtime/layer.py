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
docs/realtime.md). At most MAX_IN_FLIGHT sends are pending (a slow Redis
slows publishers rather than growing memory), and an `atexit` hook gives
pending sends SEND_TIMEOUT_SECONDS to finish so a management command that
exits right after publishing still sends.
"""

import asyncio
import atexit
import concurrent.futures
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0
MAX_IN_FLIGHT = 10_000

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_in_flight: set[concurrent.futures.Future[bool]] = set()
_slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)


def _sender_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid, _in_flight, _slots
    with _lock:
        if _loop is None or _loop_pid != os.getpid():
            if _loop_pid is not None and _loop_pid != os.getpid():
                # A forked child: the parent's pending sends are not ours.
                _in_flight, _slots = set(), threading.BoundedSemaphore(MAX_IN_FLIGHT)
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="realtime-sender", daemon=True)
            thread.start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


async def _group_send(group: str, message: dict[str, Any]) -> bool:
    """True once Redis accepted the message; False (logged) if it failed.

    Failures are logged here, in the loop, so the log line exists by the time
    anyone waiting on the send wakes up."""
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


@atexit.register
def layer_drain(timeout: float = SEND_TIMEOUT_SECONDS) -> None:
    """Wait (bounded) for the sends still in flight."""
    pending = [f for f in list(_in_flight) if not f.done()]
    if pending:
        concurrent.futures.wait(pending, timeout=timeout)
