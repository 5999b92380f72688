"""Trading calendars: XNYS holidays, weekends and half days; FX hours; crypto."""

from datetime import UTC, date, datetime

import pytest

from market import calendars
from market.models import Instrument

XNYS = Instrument(symbol="GOOG", calendar="xnys")
FX = Instrument(symbol="EUR-USD", calendar="fx")
CRYPTO = Instrument(symbol="BTC-USD", calendar="always")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


class TestXnys:
    def test_closed_on_christmas_day_2026(self):
        # A Friday: would be a normal session but for the holiday.
        assert not calendars.market_is_open(XNYS, utc(2026, 12, 25, 16, 0))
        assert calendars.next_open(XNYS, utc(2026, 12, 25, 16, 0)) == utc(2026, 12, 28, 14, 30)

    def test_closed_on_weekends(self):
        assert not calendars.market_is_open(XNYS, utc(2026, 11, 28, 16, 0))  # Saturday
        assert not calendars.market_is_open(XNYS, utc(2026, 11, 29, 16, 0))  # Sunday

    def test_open_during_regular_hours_and_closed_outside(self):
        # Monday 2026-11-30: 09:30-16:00 New York = 14:30-21:00 UTC (EST).
        assert not calendars.market_is_open(XNYS, utc(2026, 11, 30, 14, 29))
        assert calendars.market_is_open(XNYS, utc(2026, 11, 30, 14, 30))
        assert calendars.market_is_open(XNYS, utc(2026, 11, 30, 20, 59, 59))
        assert not calendars.market_is_open(XNYS, utc(2026, 11, 30, 21, 0))

    def test_half_day_after_thanksgiving_closes_at_13_new_york(self):
        # 2026-11-27: early close 13:00 New York = 18:00 UTC.
        assert calendars.market_is_open(XNYS, utc(2026, 11, 27, 17, 59))
        assert not calendars.market_is_open(XNYS, utc(2026, 11, 27, 18, 0))
        assert calendars.next_close(XNYS, utc(2026, 11, 27, 15, 0)) == utc(2026, 11, 27, 18, 0)

    def test_thanksgiving_itself_is_closed(self):
        assert not calendars.market_is_open(XNYS, utc(2026, 11, 26, 16, 0))

    def test_sessions_skip_holidays_and_show_the_early_close(self):
        sessions = calendars.sessions(XNYS, date(2026, 11, 25), date(2026, 11, 30))
        assert [(s.date, s.open, s.close) for s in sessions] == [
            (date(2026, 11, 25), utc(2026, 11, 25, 14, 30), utc(2026, 11, 25, 21, 0)),
            (date(2026, 11, 27), utc(2026, 11, 27, 14, 30), utc(2026, 11, 27, 18, 0)),
            (date(2026, 11, 30), utc(2026, 11, 30, 14, 30), utc(2026, 11, 30, 21, 0)),
        ]

    def test_outside_the_calendar_range_is_a_clear_error(self):
        with pytest.raises(calendars.CalendarRangeError):
            calendars.market_is_open(XNYS, utc(1990, 1, 2, 15, 0))
        with pytest.raises(calendars.CalendarRangeError):
            calendars.sessions(XNYS, date(1990, 1, 1), date(1990, 1, 31))

    def test_naive_datetimes_are_refused(self):
        with pytest.raises(ValueError, match="aware"):
            calendars.market_is_open(XNYS, datetime(2026, 11, 30, 15, 0))


class TestFx:
    def test_closed_all_saturday(self):
        for hour in (0, 12, 23):
            assert not calendars.market_is_open(FX, utc(2026, 11, 28, hour, 0))

    def test_opens_sunday_17_new_york_and_closes_friday_17_new_york(self):
        # November: New York is UTC-5, so 17:00 New York = 22:00 UTC.
        assert not calendars.market_is_open(FX, utc(2026, 11, 29, 21, 59))
        assert calendars.market_is_open(FX, utc(2026, 11, 29, 22, 0))
        assert calendars.market_is_open(FX, utc(2026, 12, 2, 3, 0))  # Wednesday night
        assert calendars.market_is_open(FX, utc(2026, 12, 4, 21, 59))
        assert not calendars.market_is_open(FX, utc(2026, 12, 4, 22, 0))

    def test_follows_new_york_daylight_saving_time(self):
        # July: New York is UTC-4, so Friday 17:00 New York = 21:00 UTC.
        assert not calendars.market_is_open(FX, utc(2026, 7, 10, 21, 0))
        assert calendars.market_is_open(FX, utc(2026, 7, 10, 20, 59))

    def test_next_open_and_close(self):
        saturday = utc(2026, 11, 28, 12, 0)
        assert calendars.next_open(FX, saturday) == utc(2026, 11, 29, 22, 0)
        assert calendars.next_close(FX, saturday) == utc(2026, 12, 4, 22, 0)
        # While open, the next open is the one after the coming weekend.
        assert calendars.next_open(FX, utc(2026, 12, 1, 12, 0)) == utc(2026, 12, 6, 22, 0)

    def test_sessions_are_weekdays_from_17_to_17(self):
        sessions = calendars.sessions(FX, date(2026, 11, 27), date(2026, 11, 30))
        assert [(s.date, s.open, s.close) for s in sessions] == [
            (date(2026, 11, 27), utc(2026, 11, 26, 22, 0), utc(2026, 11, 27, 22, 0)),
            (date(2026, 11, 30), utc(2026, 11, 29, 22, 0), utc(2026, 11, 30, 22, 0)),
        ]


class TestAlways:
    @pytest.mark.parametrize(
        "at",
        [
            utc(2026, 11, 28, 12, 0),
            utc(2026, 12, 25, 0, 0),
            utc(2026, 11, 29, 23, 59, 59),
            utc(2027, 1, 1, 0, 0),
        ],
    )
    def test_crypto_is_always_open(self, at):
        assert calendars.market_is_open(CRYPTO, at)
        assert calendars.next_open(CRYPTO, at) is None
        assert calendars.next_close(CRYPTO, at) is None

    def test_sessions_are_utc_days(self):
        sessions = calendars.sessions(CRYPTO, date(2026, 12, 31), date(2027, 1, 1))
        assert [(s.open, s.close) for s in sessions] == [
            (utc(2026, 12, 31), utc(2027, 1, 1)),
            (utc(2027, 1, 1), utc(2027, 1, 2)),
        ]


def test_every_calendar_kind_has_its_rules():
    from market.calendars import CALENDARS
    from market.models import CalendarKind

    assert set(CALENDARS) == set(CalendarKind.values)
