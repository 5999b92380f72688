"""Writes of the realtime app other than `publish` (see `realtime.publish`):
retention pruning and WebSocket tickets.

Tickets: a browser authenticates its WebSocket with the session cookie, but a
mobile or native client has only its API token, which must not travel in a
URL (logs, proxies). It exchanges the token over HTTPS for a random ticket
stored in Redis for `WS_TICKET_TTL_SECONDS` and passes it as `?ticket=`. The
ticket is redeemed with one atomic GETDEL, so it works once, even when two
connections race with the same ticket (in one batch or in two). Only a SHA-256 of the ticket is used as
the Redis key: a Redis dump yields no usable ticket.
"""

import functools
import hashlib
import secrets
from datetime import datetime

import redis
from django.conf import settings
from django.db import transaction

from core.redis import redis_client_async
from realtime.coalesce import Coalescer
from realtime.models import Event
from realtime.publish import publish
from realtime.schemas import NOTIFICATION, notification_data

PRUNE_BATCH = 5000

_redis: redis.Redis | None = None


def _ticket_redis() -> redis.Redis:
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


def _ticket_key(ticket: str) -> str:
    digest = hashlib.sha256(ticket.encode()).hexdigest()
    return f"{_key_prefix()}:wsticket:{digest}"


@functools.cache
def _key_prefix() -> str:
    # Once per process: the settings lookup showed in a reconnect storm's
    # profile, and the prefix never changes while a process runs.
    return str(settings.CACHES["default"].get("KEY_PREFIX", ""))


def ticket_create(*, user_id: int) -> str:
    """Issue a single-use ticket for `user_id`, valid for WS_TICKET_TTL_SECONDS."""
    ticket = secrets.token_urlsafe(32)
    _ticket_redis().set(_ticket_key(ticket), str(user_id), ex=settings.WS_TICKET_TTL_SECONDS)
    return ticket


async def ticket_redeem(*, ticket: str) -> int | None:
    """The user id of a valid ticket, consuming it; None if unknown, expired or used.

    Async, on the server's event loop: a reconnect storm redeems a ticket per
    socket, and a thread hop each was a large part of an accept's cost
    (bench/ws_accept.py, docs/scaling.md). Tickets redeemed together share
    one pipeline of GETDELs (realtime.coalesce). Whether the user is still
    active is checked by the consumer's first query (selectors.stream_starts)."""
    if not ticket or len(ticket) > 128:
        return None
    return await _redeemer.get(ticket)


async def _tickets_consume(tickets: list[str]) -> list[int | None]:
    """One round trip: a GETDEL per ticket, in order (so of two redemptions
    of one ticket only the first finds it)."""
    pipeline = redis_client_async().pipeline(transaction=False)
    for ticket in tickets:
        pipeline.getdel(_ticket_key(ticket))
    values = await pipeline.execute()
    return [int(value) if isinstance(value, str) and value.isdigit() else None for value in values]


_redeemer: Coalescer[str, int | None] = Coalescer(_tickets_consume)


def event_prune(*, older_than: datetime) -> int:
    """Delete events created before `older_than`; return how many.

    Deletes in batches so a large prune never holds long locks. Counters are
    kept, so seqs continue after a prune and a client resuming from a pruned
    seq gets `resync_required`."""
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Event.objects.filter(created_at__lt=older_than).values_list("id", flat=True)[:PRUNE_BATCH]
            )
            if not ids:
                return total
            deleted, _ = Event.objects.filter(id__in=ids).delete()
            total += deleted


def notification_send(*, user_id: int, title: str, body: str, level: str = "info") -> Event:
    """Publish a `notification` event to one user."""
    with transaction.atomic():
        return publish(
            user_id=user_id, event=NOTIFICATION, data=notification_data(title=title, body=body, level=level)
        )
