"""The template filters that write prices and dates like the scripts do."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from frontend.templatetags.display import local_time, price_at


def test_price_at_uses_the_instrument_scale_and_groups():
    assert price_at(Decimal("3199.88000000"), 2) == "3,199.88"
    assert price_at("1234567.125", 2) == "1,234,567.12"  # half to even
    assert price_at(Decimal("0.00012345"), 6) == "0.000123"
    assert price_at(None, 2) == "—"


def test_local_time_renders_iso_with_a_utc_fallback():
    cet = timezone(timedelta(hours=1))
    moment = datetime(2026, 12, 7, 14, 3, 5, tzinfo=cet)
    assert local_time(moment) == (
        '<time datetime="2026-12-07T13:03:05+00:00" data-format="datetime">07 Dec 2026, 13:03:05 UTC</time>'
    )
    assert local_time(moment.astimezone(UTC), "clock").endswith('data-format="clock">13:03:05 UTC</time>')
    assert local_time(None) == "—"
