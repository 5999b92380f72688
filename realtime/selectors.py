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


def stream_starts(user_ids: list[int]) -> list[int | None]:
    """For each user id: the last seq issued to that user if the user is
    (still) active, else None. In the order given, duplicates included.

    One statement for the two things a new stream needs from the database
    (a ticket is redeemed in Redis, and its user may have been deactivated
    in the seconds since it was issued), for every stream that starts while
    the previous read is out (realtime.coalesce). Plain SQL: it runs for
    every accept, and compiling the same query through the ORM was a fifth
    of an accept's CPU in a reconnect storm (docs/scaling.md, "Accepts")."""
    with connection.cursor() as cursor:
        cursor.execute(_STREAM_STARTS, [list(set(user_ids))])
        found = {user: int(last_seq) for user, last_seq in cursor.fetchall()}
    return [found.get(user) for user in user_ids]


def event_last_seqs(user_ids: list[int]) -> list[int]:
    """`event_last_seq` of each user, in the order given: one statement for
    the heartbeats' missed-event checks that fall due together."""
    found = dict(EventCounter.objects.filter(user_id__in=set(user_ids)).values_list("user_id", "last_seq"))
    return [int(found.get(user) or 0) for user in user_ids]


# Table names from the models, not from input (hence the noqa).
_STREAM_STARTS = f"""
    SELECT u.id, COALESCE(c.last_seq, 0)
    FROM {get_user_model()._meta.db_table} u
    LEFT JOIN {EventCounter._meta.db_table} c ON c.user_id = u.id
    WHERE u.id = ANY(%s) AND u.is_active
"""  # noqa: S608
