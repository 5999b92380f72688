"""Trading calendars: is an instrument's market open at an instant, when does
it next open and close, and its sessions between two dates.

Three kinds (`Instrument.calendar`), each a `CalendarKindRules` entry of
`CALENDARS`:

- `always`: crypto, open every instant; `next_open`/`next_close` are None.
  Sessions are UTC calendar days, for the calendar endpoint only.
- `fx`: Sunday 17:00 to Friday 17:00 America/New_York (so it follows New
  York's daylight saving time). A session of date D (Mon-Fri) runs from 17:00
  New York on the day before D to 17:00 New York on D, the FX convention.
  FX holidays (25 Dec, 1 Jan) are not modelled: the interbank market trades
  thinly on them but does trade.
- `xnys`: the New York Stock Exchange via `exchange_calendars`, with its
  holidays and early closes (13:00 New York). Regular hours only; no pre- or
  post-market. The calendar object is slow to build (~0.5 s), so it is built
  once per process; it covers 20 years back to one year ahead of its
  construction, and instants outside that raise `CalendarRangeError`.

All functions take and return aware datetimes; the interval of a session is
half-open, [open, close).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from core.errors import DomainError

if TYPE_CHECKING:
    from market.models import Instrument

# exchange_calendars 4.13 calls pandas APIs that pandas 3.1 deprecates (the
# `.values` of tz-aware indexes); harmless for us and noisy on every lookup.
warnings.filterwarnings("ignore", message=".*drops timezone information.*")

NEW_YORK = ZoneInfo("America/New_York")
FX_ROLL = time(17, 0)
SUNDAY, FRIDAY, SATURDAY = 6, 4, 5


class CalendarRangeError(DomainError):
    code = "calendar_out_of_range"


@dataclass(frozen=True, slots=True)
class Session:
    date: date
    open: datetime
    close: datetime


@functools.cache
def _xnys() -> Any:
    import exchange_calendars  # deferred: importing pandas costs ~0.3 s per process

    return exchange_calendars.get_calendar("XNYS")


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("calendar functions take aware datetimes")


# --- xnys -------------------------------------------------------------------


def _xnys_minute(at: datetime) -> Any:
    import pandas as pd

    cal = _xnys()
    minute = pd.Timestamp(at).tz_convert("UTC").floor("min")
    if not cal.first_minute <= minute <= cal.last_minute:
        raise CalendarRangeError(
            f"the XNYS calendar covers {cal.first_minute.isoformat()} to {cal.last_minute.isoformat()}"
        )
    return minute


def _xnys_is_open(at: datetime) -> bool:
    return bool(_xnys().is_open_on_minute(_xnys_minute(at)))


def _xnys_next_open(at: datetime) -> datetime:
    return _xnys().next_open(_xnys_minute(at)).to_pydatetime()  # type: ignore[no-any-return]


def _xnys_next_close(at: datetime) -> datetime:
    return _xnys().next_close(_xnys_minute(at)).to_pydatetime()  # type: ignore[no-any-return]


def _xnys_sessions(start: date, end: date) -> list[Session]:
    cal = _xnys()
    first, last = cal.first_session.date(), cal.last_session.date()
    if start < first or end > last:
        raise CalendarRangeError(f"the XNYS calendar covers sessions {first} to {last}")
    schedule = cal.schedule.loc[start.isoformat() : end.isoformat()]  # type: ignore[misc]
    return [
        Session(date=label.date(), open=row.open.to_pydatetime(), close=row.close.to_pydatetime())
        for label, row in schedule.iterrows()
    ]


# --- fx ---------------------------------------------------------------------


def _ny(day: date) -> datetime:
    """17:00 New York on `day`, as an aware datetime (DST-correct)."""
    return datetime.combine(day, FX_ROLL, tzinfo=NEW_YORK)


def _fx_is_open(at: datetime) -> bool:
    local = at.astimezone(NEW_YORK)
    weekday = local.weekday()
    if weekday == SATURDAY:
        return False
    if weekday == SUNDAY:
        return local.time() >= FX_ROLL
    if weekday == FRIDAY:
        return local.time() < FX_ROLL
    return True


def _fx_next_weekly(at: datetime, weekday: int) -> datetime:
    """The first 17:00 New York on `weekday` strictly after `at`."""
    local = at.astimezone(NEW_YORK)
    days = (weekday - local.weekday()) % 7
    candidate = _ny(local.date() + timedelta(days=days))
    if candidate <= at:
        candidate = _ny(local.date() + timedelta(days=days + 7))
    return candidate.astimezone(UTC)


def _fx_sessions(start: date, end: date) -> list[Session]:
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return [
        Session(
            date=day,
            open=_ny(day - timedelta(days=1)).astimezone(UTC),
            close=_ny(day).astimezone(UTC),
        )
        for day in days
        if day.weekday() < SATURDAY
    ]


# --- always -------------------------------------------------------------------


def _always_sessions(start: date, end: date) -> list[Session]:
    return [
        Session(
            date=day,
            open=datetime.combine(day, time(0), tzinfo=UTC),
            close=datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC),
        )
        for day in (start + timedelta(days=n) for n in range((end - start).days + 1))
    ]


# --- registry -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalendarKindRules:
    """What one calendar kind answers. `next_open`/`next_close` return None
    for a market that never closes."""

    is_open: Callable[[datetime], bool]
    next_open: Callable[[datetime], datetime | None]
    next_close: Callable[[datetime], datetime | None]
    sessions: Callable[[date, date], list[Session]]


# One entry per `CalendarKind` (a test holds the two equal).
CALENDARS: dict[str, CalendarKindRules] = {
    "always": CalendarKindRules(
        is_open=lambda at: True,
        next_open=lambda at: None,
        next_close=lambda at: None,
        sessions=_always_sessions,
    ),
    "fx": CalendarKindRules(
        is_open=_fx_is_open,
        next_open=lambda at: _fx_next_weekly(at, SUNDAY),
        next_close=lambda at: _fx_next_weekly(at, FRIDAY),
        sessions=_fx_sessions,
    ),
    "xnys": CalendarKindRules(
        is_open=_xnys_is_open,
        next_open=_xnys_next_open,
        next_close=_xnys_next_close,
        sessions=_xnys_sessions,
    ),
}


def _rules(instrument: Instrument) -> CalendarKindRules:
    try:
        return CALENDARS[instrument.calendar]
    except KeyError:
        raise ValueError(f"unknown calendar {instrument.calendar!r}") from None


# The zone each kind states its hours in: what a trader is shown its times in
# ("opens 09:30 EST"). A market that never closes is shown in UTC.
ZONES: dict[str, ZoneInfo] = {"always": ZoneInfo("UTC"), "fx": NEW_YORK, "xnys": NEW_YORK}


# --- public -------------------------------------------------------------------


def exchange_zone(instrument: Instrument) -> ZoneInfo:
    """The time zone the instrument's market states its hours in."""
    _rules(instrument)  # the same ValueError for an unknown calendar
    return ZONES[instrument.calendar]


def market_is_open(instrument: Instrument, at: datetime) -> bool:
    _require_aware(at)
    return _rules(instrument).is_open(at)


def next_open(instrument: Instrument, at: datetime) -> datetime | None:
    """The first opening strictly after `at`; None for a market that never closes."""
    _require_aware(at)
    return _rules(instrument).next_open(at)


def next_close(instrument: Instrument, at: datetime) -> datetime | None:
    """The first closing strictly after `at`; None for a market that never closes."""
    _require_aware(at)
    return _rules(instrument).next_close(at)


# A session's instants reach a day to either side of its date (the fx session
# opens the day before, in New York): the dates whose sessions a `datetime`
# can hold.
SESSION_DATES = (date.min + timedelta(days=2), date.max - timedelta(days=2))


def sessions(instrument: Instrument, start: date, end: date) -> list[Session]:
    """Trading sessions whose date lies in [start, end], in order;
    `CalendarRangeError` for dates outside `SESSION_DATES`."""
    first, last = SESSION_DATES
    if start < first or end > last:
        raise CalendarRangeError(f"sessions are known for dates {first} to {last}")
    return _rules(instrument).sessions(start, end)
