"""The only door for events.

`publish` is called by services inside their `transaction.atomic()`. It
validates the data against the event's registered schema, takes the user's
next seq from the counter row (an upsert that locks that row until commit:
concurrent writers for one user serialise there, so seqs are gapless and in
commit order), writes the event row, and registers an on-commit callback that
sends the event to group `user.<id>`. Rolled back → nothing stored, nothing
sent. Several events in one transaction are sent in the order published (the
callbacks run in order and the sender preserves it).

After commit (and after the socket send is handed over) the written rows go
to the listeners other apps registered (`realtime.listeners`), e.g. the push
app's; with none registered nothing more happens.

Lock order: the counter row is taken after whatever the caller already
locked (trade/plan row, then ledger accounts), so publishing last in a
service keeps the project's one lock order.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.pgarrays import int_array, text_array
from realtime.errors import PublishOutsideTransaction
from realtime.groups import user_group
from realtime.layer import layer_group_send, layer_group_send_many
from realtime.listeners import listeners_active, listeners_notify
from realtime.models import Event
from realtime.schemas import event_data_validate

# One statement, one round trip: bump (or create) the counter row, which
# locks it until commit, and insert the event with the number it returned.
_INSERT_SQL = """
WITH counter AS (
    INSERT INTO realtime_eventcounter (user_id, last_seq) VALUES (%(user_id)s, 1)
    ON CONFLICT (user_id) DO UPDATE SET last_seq = realtime_eventcounter.last_seq + 1
    RETURNING last_seq
)
INSERT INTO realtime_event (user_id, seq, event, data, created_at)
SELECT %(user_id)s, counter.last_seq, %(event)s, %(data)s::jsonb, %(created_at)s FROM counter
RETURNING id, seq
"""


# The same for a batch (settlement): every user's counter is bumped by the
# number of its events, in user id order (one lock order between batches),
# and each user's events are numbered below the new value in input order.
# The data of all events travels as one JSON array (not a jsonb[] of texts):
# escaping 500 JSON texts into an array literal, client side, cost more than
# the statement itself; one text is escaped by libpq.
_INSERT_MANY_SQL = """
WITH input AS (
    SELECT * FROM ROWS FROM (unnest(%(user_ids)s::bigint[]), unnest(%(events)s::text[]),
                             jsonb_array_elements(%(datas)s::jsonb))
           WITH ORDINALITY AS i(user_id, event, data, ord)
), counts AS (
    SELECT user_id, count(*) AS n FROM input GROUP BY user_id
), counter AS (
    INSERT INTO realtime_eventcounter (user_id, last_seq)
    SELECT user_id, n FROM counts ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET last_seq = realtime_eventcounter.last_seq + EXCLUDED.last_seq
    RETURNING user_id, last_seq
)
INSERT INTO realtime_event (user_id, seq, event, data, created_at)
SELECT i.user_id,
       c.last_seq - count(*) OVER w + row_number() OVER (w ORDER BY i.ord),
       i.event, i.data, %(created_at)s
  FROM input i JOIN counter c USING (user_id)
WINDOW w AS (PARTITION BY i.user_id)
RETURNING id, user_id, seq
"""


_EVENT_FIELDS = ("id", "user_id", "seq", "event", "data", "created_at")  # every field, in order


@dataclass(frozen=True, slots=True)
class Publication:
    user_id: int
    event: str
    data: dict[str, Any]


def event_message(event: Event) -> dict[str, Any]:
    """The channel-layer message of an event (`type` routes it in the consumer)."""
    return {
        "type": "event.message",
        "seq": event.seq,
        "event": event.event,
        "time": event.created_at.isoformat(),
        "data": event.data,
    }


def event_frame(event: Event) -> dict[str, Any]:
    """The WebSocket / REST shape of an event."""
    return {
        "type": "event",
        "seq": event.seq,
        "event": event.event,
        "time": event.created_at.isoformat(),
        "data": event.data,
    }


def _event_insert(*, user_id: int, event: str, data: dict[str, Any]) -> Event:
    created_at = timezone.now()
    params: dict[str, Any] = {
        "user_id": user_id,
        "event": event,
        "data": json.dumps(data),
        "created_at": created_at,
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, params)
        row = cursor.fetchone()
    assert row is not None
    instance = Event(id=row[0], user_id=user_id, seq=row[1], event=event, data=data, created_at=created_at)
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


def publish(*, user_id: int, event: str, data: dict[str, Any]) -> Event:
    """Store an event for `user_id` and send it to `user.<id>` after commit.

    Precondition: the caller is inside `transaction.atomic()`. Raises
    `EventInvalid` for an unknown event or data not matching its schema."""
    if not connection.in_atomic_block:
        raise PublishOutsideTransaction("publish() must be called inside transaction.atomic()")
    payload = event_data_validate(event=event, data=data)
    row = _event_insert(user_id=user_id, event=event, data=payload)
    message = event_message(row)
    group = user_group(user_id)
    transaction.on_commit(lambda: layer_group_send(group=group, message=message, wait=False))
    _listeners_after_commit([row])
    return row


def _listeners_after_commit(events: list[Event]) -> None:
    # Registered after the send, so listeners run after it; robust: a
    # listener's fault never reaches the committed caller.
    if listeners_active():
        transaction.on_commit(lambda: listeners_notify(events), robust=True)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Publications checked against their schemas and encoded, ready for
    `publish_many`; no database work was done."""

    publications: tuple[Publication, ...]
    payloads: list[dict[str, Any]]
    encoded: str  # the payloads as one JSON array


def publish_many_prepare(publications: Sequence[Publication]) -> PreparedBatch:
    """The Python half of `publish_many`, which may run before the caller
    takes its locks (settlement builds its 500 events before it locks the
    platform accounts that concurrent sweeps wait for). Raises `EventInvalid`
    as `publish_many` does."""
    payloads = [event_data_validate(event=p.event, data=p.data) for p in publications]
    return PreparedBatch(tuple(publications), payloads, json.dumps(payloads))


def publish_many(publications: Sequence[Publication] | PreparedBatch) -> list[Event]:
    """`publish` for many events in one statement (settlement batches):
    the same validation, numbering and after-commit sending, in input order
    (each user's events get consecutive seqs in the order given). Takes the
    publications, or them prepared by `publish_many_prepare`."""
    if not connection.in_atomic_block:
        raise PublishOutsideTransaction("publish_many() must be called inside transaction.atomic()")
    batch = publications if isinstance(publications, PreparedBatch) else publish_many_prepare(publications)
    publications, payloads = batch.publications, batch.payloads
    if not publications:
        return []
    created_at = timezone.now()
    params: dict[str, Any] = {
        "user_ids": int_array(p.user_id for p in publications),
        "events": text_array(p.event for p in publications),
        "datas": batch.encoded,
        "created_at": created_at,
    }
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_MANY_SQL, params)
        rows = cursor.fetchall()
    # Match rows to inputs by (user, seq): a user's seqs rise in input order.
    ids: dict[tuple[int, int], int] = {(user_id, seq): pk for pk, user_id, seq in rows}
    seqs: dict[int, list[int]] = {}
    for user_id, seq in sorted(ids):
        seqs.setdefault(user_id, []).append(seq)
    taken: dict[int, int] = {}
    events = []
    alias = connection.alias
    for publication, data in zip(publications, payloads, strict=True):
        index = taken.get(publication.user_id, 0)
        taken[publication.user_id] = index + 1
        seq = seqs[publication.user_id][index]
        # As a row read from the database (positional, in field order): Django's fast path.
        event = Event.from_db(
            alias,
            _EVENT_FIELDS,
            (ids[(publication.user_id, seq)], publication.user_id, seq, publication.event, data, created_at),
        )
        events.append(event)
    sends = [(user_group(e.user_id), event_message(e)) for e in events]
    transaction.on_commit(lambda: layer_group_send_many(sends=sends))
    _listeners_after_commit(events)
    return events
