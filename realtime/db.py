"""`db(fn)`: run a selector from async code on a pool thread.

Channels' `database_sync_to_async` is thread-sensitive by default: every call
of the whole process queues on one thread, so one slow query delays every
connect and every replay. The realtime selectors keep no state between calls
and each thread has its own (pooled) connection, so they run on the
executor's thread pool instead (measured in docs/realtime.md: connects/s went
from ~135 to the figure there)."""

from collections.abc import Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async

T = TypeVar("T")


def db(fn: Callable[..., T]) -> Callable[..., Any]:
    return database_sync_to_async(fn, thread_sensitive=False)
