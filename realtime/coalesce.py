"""Calls that arrive while a round trip is out share the next one.

In a reconnect storm hundreds of streams start at once, and each start asks
Redis for its ticket and PostgreSQL for its last seq. The fixed cost of a
round trip (a thread hop, a system call each way, a driver's bookkeeping)
was most of an accept's CPU, not the work inside it (docs/scaling.md,
"Accepts"). A `Coalescer` sends the first call at once; calls made while a
batch is out wait for it and then go together, in one round trip. An idle
stream waits for nothing; a storm pays one round trip per batch (the group
commit of databases, applied to reads).

`fetch` takes the keys in call order, duplicates included, and returns one
result per key in that order: a ticket redeemed twice in one batch is found
by the first call and not by the second, as with two separate GETDELs.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

MAX_BATCH = 500


@dataclass
class _Queue(Generic[K, V]):
    """One event loop's calls (a future belongs to one loop; tests run a loop each)."""

    waiting: list[tuple[K, asyncio.Future[V]]] = field(default_factory=list)
    sender: asyncio.Task[None] | None = None


class Coalescer(Generic[K, V]):
    def __init__(self, fetch: Callable[[list[K]], Awaitable[list[V]]], *, max_batch: int = MAX_BATCH) -> None:
        self._fetch = fetch
        self._max_batch = max_batch
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue[K, V]] = (
            weakref.WeakKeyDictionary()
        )
        self.round_trips = 0  # batches sent, for the tests that count them

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _Queue()
        future: asyncio.Future[V] = loop.create_future()
        queue.waiting.append((key, future))
        if queue.sender is None:
            # Started, not awaited: calls made before it runs (the same turn
            # of the loop) join its first batch.
            queue.sender = loop.create_task(self._send(queue))
        return await future

    async def _send(self, queue: _Queue[K, V]) -> None:
        try:
            while queue.waiting:
                batch = queue.waiting[: self._max_batch]
                del queue.waiting[: self._max_batch]
                await self._one_round_trip(batch)
        finally:
            queue.sender = None
            # Only when the sender itself was cancelled (its loop is ending)
            # are callers left waiting: nobody else would answer them.
            for _, future in queue.waiting:
                future.cancel()
            queue.waiting.clear()

    async def _one_round_trip(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        self.round_trips += 1
        try:
            results = await self._fetch([key for key, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"fetch returned {len(results)} results for {len(batch)} keys")
        except BaseException as exc:
            # Every caller of the batch sees the failure its own round trip
            # would have raised; the next batch starts afresh.
            for _, future in batch:
                _settle(future, exc=exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(future: asyncio.Future[Any], *, result: Any = None, exc: BaseException | None = None) -> None:
    if future.done():  # its caller was cancelled (the client went away)
        return
    if isinstance(exc, asyncio.CancelledError):
        future.cancel()
    elif exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
