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
"""

import asyncio
import logging
import os
import threading
from typing import Any

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

SEND_TIMEOUT_SECONDS = 5.0

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _sender_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _lock:
        if _loop is None or _loop_pid != os.getpid():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="realtime-sender", daemon=True)
            thread.start()
            _loop, _loop_pid = loop, os.getpid()
        return _loop


async def _group_send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    assert layer is not None, "CHANNEL_LAYERS is not configured"
    await layer.group_send(group, message)


def layer_group_send(*, group: str, message: dict[str, Any]) -> bool:
    """Send `message` to `group` and wait until Redis accepted it.

    Returns False (and logs) when the layer is unreachable. Must not be called
    from the sender loop's own thread."""
    future = asyncio.run_coroutine_threadsafe(_group_send(group, message), _sender_loop())
    try:
        future.result(timeout=SEND_TIMEOUT_SECONDS)
    except Exception:
        future.cancel()
        logger.warning("channel layer send to %s failed; clients recover it by resume", group, exc_info=True)
        return False
    return True
