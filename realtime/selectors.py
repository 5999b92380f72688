"""Reads of the event log, for the consumer (through `database_sync_to_async`),
the REST poll and the reference tools.

Visibility argument used by resume and gap fill: a transaction that takes seq
n for a user holds that user's counter row until it commits, so seq n+1 can
only be allocated after n committed. Hence if seq n is visible, every seq
below it is too, and reading `seq > since ORDER BY seq` never skips a number
that commits later.
"""

import enum
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Min

from realtime.models import Event, EventCounter

MAX_PAGE = 500


class ResumeStatus(enum.Enum):
    OK = "ok"
    AHEAD = "ahead"  # since > the last seq ever issued
    PRUNED = "pruned"  # events after since were deleted by retention


@dataclass(frozen=True)
class ResumeCheck:
    status: ResumeStatus
    last_seq: int
    oldest_seq: int | None


def event_last_seq(*, user_id: int) -> int:
    """The last seq issued to the user (committed), 0 if none."""
    value = EventCounter.objects.filter(user_id=user_id).values_list("last_seq", flat=True).first()
    return int(value or 0)


def event_list_since(*, user_id: int, since: int, limit: int = MAX_PAGE) -> list[Event]:
    """The user's events with seq > since, in seq order, at most `limit` (≤ MAX_PAGE)."""
    limit = max(1, min(limit, MAX_PAGE))
    return list(Event.objects.filter(user_id=user_id, seq__gt=since).order_by("seq")[:limit])


def event_list_range(*, user_id: int, after: int, upto: int) -> list[Event]:
    """The user's events with after < seq ≤ upto, in seq order (gap fill)."""
    return list(Event.objects.filter(user_id=user_id, seq__gt=after, seq__lte=upto).order_by("seq"))


def event_resume_check(*, user_id: int, since: int) -> ResumeCheck:
    """Can the user resume from `since` without a hole?

    PRUNED when the event right after `since` is no longer stored (retention
    deleted it): the client must reload its state over REST."""
    last = event_last_seq(user_id=user_id)
    if since > last:
        return ResumeCheck(ResumeStatus.AHEAD, last, None)
    oldest = Event.objects.filter(user_id=user_id).aggregate(m=Min("seq"))["m"]
    if since < last and (oldest is None or oldest > since + 1):
        return ResumeCheck(ResumeStatus.PRUNED, last, oldest)
    return ResumeCheck(ResumeStatus.OK, last, oldest)


def stream_start(*, user_id: int) -> int | None:
    """The last seq issued to the user if the user is (still) active, else None.

    One statement for the two things a new stream needs from the database: a
    ticket is redeemed in Redis, and its user may have been deactivated in
    the seconds since it was issued. Plain SQL: it runs once per accept, and
    compiling the same query through the ORM was a fifth of an accept's CPU
    in a reconnect storm (docs/scaling.md, "Accepts")."""
    with connection.cursor() as cursor:
        cursor.execute(_STREAM_START, [user_id])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


# Table names from the models, not from input (hence the noqa).
_STREAM_START = f"""
    SELECT COALESCE(c.last_seq, 0)
    FROM {get_user_model()._meta.db_table} u
    LEFT JOIN {EventCounter._meta.db_table} c ON c.user_id = u.id
    WHERE u.id = %s AND u.is_active
"""  # noqa: S608
