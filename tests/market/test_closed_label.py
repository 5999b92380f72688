"""A closed market's label, "Closed · opens 09:30 EST": the next open in the exchange's zone, with
its abbreviation, and the weekday when it is not the same day there."""

from datetime import UTC, datetime

from market.models import Instrument
from market.selectors.instruments import market_closed_label

XNYS = Instrument(symbol="GOOG", calendar="xnys")
FX = Instrument(symbol="EUR-USD", calendar="fx")
CRYPTO = Instrument(symbol="BTC-USD", calendar="always")


def test_open_markets_have_no_label():
    assert market_closed_label(instrument=CRYPTO, at=datetime(2026, 11, 28, 15, 0, tzinfo=UTC)) is None
    assert market_closed_label(instrument=XNYS, at=datetime(2026, 11, 30, 15, 0, tzinfo=UTC)) is None


def test_same_day_open_is_the_time_in_the_exchange_zone():
    # Monday 07:00 New York (12:00 UTC): opens at 09:30 the same morning.
    at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    assert market_closed_label(instrument=XNYS, at=at) == "Closed · opens 09:30 EST"


def test_another_day_names_the_weekday_and_daylight_time_shows_edt():
    saturday = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    assert market_closed_label(instrument=XNYS, at=saturday) == "Closed · opens Mon 09:30 EST"
    assert market_closed_label(instrument=FX, at=saturday) == "Closed · opens Sun 17:00 EST"
    july_saturday = datetime(2026, 7, 11, 15, 0, tzinfo=UTC)
    assert market_closed_label(instrument=XNYS, at=july_saturday) == "Closed · opens Mon 09:30 EDT"
