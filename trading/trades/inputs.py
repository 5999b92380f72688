"""Parsing of trade input the serializers cannot check alone (they do not know
the instrument): price levels at the instrument's price scale, durations
within its limits. Every refusal names its field: 400 for what the schema
states (`TradeInputInvalid`: the format, the platform-wide bounds), 422 for
the instrument's own rules (`TradeInvalid`)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings

from market.models import Instrument
from trading.trades.errors import DurationOutOfRange, TradeInputInvalid, TradeInvalid

_PLAIN_DECIMAL = re.compile(r"\A[0-9]+(?:\.(?P<frac>[0-9]+))?\Z")
# A price level is below 10**PRICE_MAX_DIGITS.
PRICE_MAX_DIGITS = 12


def parse_price(value: Any, *, field: str, instrument: Instrument) -> Decimal | None:
    """A positive price at most `instrument.price_scale` places, or None for no level."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, Decimal)):
        raise TradeInputInvalid('Enter the price as a decimal string, e.g. "65000.50".', field=field)
    match = _PLAIN_DECIMAL.match(str(value))
    if match is None:
        raise TradeInputInvalid("Enter a plain positive decimal price.", field=field)
    if len(match.group("frac") or "") > instrument.price_scale:
        raise TradeInvalid(f"At most {instrument.price_scale} decimal places for {instrument}.", field=field)
    price = Decimal(str(value))
    if price <= 0:
        raise TradeInputInvalid("The price must be greater than zero.", field=field)
    if price >= Decimal(10) ** PRICE_MAX_DIGITS:
        raise TradeInputInvalid("The price is out of range.", field=field)
    return price


def parse_duration(seconds: int | None, *, instrument: Instrument, field: str = "duration") -> timedelta:
    """The trade's lifetime: default 24 h (capped at the instrument's maximum),
    else between `TRADE_MIN_DURATION` and the instrument's maximum."""
    if seconds is None:
        return min(settings.TRADE_DEFAULT_DURATION, instrument.max_trade_duration)
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise TradeInputInvalid("Enter the duration as a whole number of seconds.", field=field)
    low = settings.TRADE_MIN_DURATION
    high = min(instrument.max_trade_duration, settings.TRADE_MAX_DURATION)
    # Compared as seconds first: `timedelta(seconds=10**20)` overflows.
    if not low.total_seconds() <= seconds <= settings.TRADE_MAX_DURATION.total_seconds():
        raise TradeInputInvalid(
            f"The duration must be between {int(low.total_seconds())} and "
            f"{int(settings.TRADE_MAX_DURATION.total_seconds())} seconds.",
            field=field,
        )
    if seconds > high.total_seconds():
        raise DurationOutOfRange(
            f"The duration must be between {int(low.total_seconds())} and "
            f"{int(high.total_seconds())} seconds for {instrument}.",
            field=field,
            instrument=instrument,
            low_seconds=int(low.total_seconds()),
            high_seconds=int(high.total_seconds()),
        )
    return timedelta(seconds=seconds)
