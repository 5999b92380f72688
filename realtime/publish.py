"""The only door for events.

`publish` is called by services inside their `transaction.atomic()`. It
validates the data against the event's registered schema, takes the user's
next seq from the counter row (an upsert that locks that row until commit:
concurrent writers for one user serialise there, so seqs are gapless and in
commit order), writes the event row, and registers an on-commit callback that
sends the event to group `user.<id>`. Rolled back → nothing stored, nothing
sent. Several events in one transaction are sent in the order published (the
callbacks run in order and the sender preserves it).

Lock order: the counter row is taken after whatever the caller already
locked (trade/plan row, then ledger accounts), so publishing last in a
service keeps the project's one lock order.
"""

from typing import Any

from django.db import connection, transaction

from realtime.errors import PublishOutsideTransaction
from realtime.groups import user_group
from realtime.layer import layer_group_send
from realtime.models import Event
from realtime.schemas import event_data_validate

_NEXT_SEQ_SQL = """
INSERT INTO realtime_eventcounter (user_id, last_seq) VALUES (%s, 1)
ON CONFLICT (user_id) DO UPDATE SET last_seq = realtime_eventcounter.last_seq + 1
RETURNING last_seq
"""


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


def _next_seq(user_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_SEQ_SQL, [user_id])
        row = cursor.fetchone()
    assert row is not None
    return int(row[0])


def publish(*, user_id: int, event: str, data: dict[str, Any]) -> Event:
    """Store an event for `user_id` and send it to `user.<id>` after commit.

    Precondition: the caller is inside `transaction.atomic()`. Raises
    `EventInvalid` for an unknown event or data not matching its schema."""
    if not connection.in_atomic_block:
        raise PublishOutsideTransaction("publish() must be called inside transaction.atomic()")
    payload = event_data_validate(event=event, data=data)
    row = Event.objects.create(user_id=user_id, seq=_next_seq(user_id), event=event, data=payload)
    message = event_message(row)
    group = user_group(user_id)
    transaction.on_commit(lambda: layer_group_send(group=group, message=message))
    return row
