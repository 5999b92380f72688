"""Instruments: the seed data, database constraints, and the symbol lookup
registered with realtime."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError

from market.models import Instrument
from market.selectors.instruments import active_symbols
from realtime.registry import symbol_is_valid
from tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db


def test_seeded_instruments():
    rows = {
        i.symbol: (i.asset_class, i.calendar, i.quote_currency, i.quantity_scale, i.feed_source, i.active)
        for i in Instrument.objects.filter(symbol__in=["BTC-USD", "ETH-USD", "EUR-USD", "GOOG", "AAPL"])
    }
    assert rows == {
        "BTC-USD": ("crypto", "always", "USD", 8, "random_walk", True),
        "ETH-USD": ("crypto", "always", "USD", 8, "random_walk", True),
        "EUR-USD": ("fx", "fx", "USD", 8, "replay", True),
        "GOOG": ("equity", "xnys", "USD", 8, "replay", True),
        "AAPL": ("equity", "xnys", "USD", 8, "random_walk", True),
    }
    eur = Instrument.objects.get(symbol="EUR-USD")
    assert (eur.price_scale, eur.price_quantum, eur.fee_bps) == (5, Decimal("0.00001"), 2)
    assert eur.min_stake < eur.max_stake and eur.max_trade_duration > timedelta(0)


@pytest.mark.parametrize(
    "fields",
    [
        {"min_stake": Decimal("0.00")},
        {"min_stake": Decimal("10.00"), "max_stake": Decimal("5.00")},
        {"max_trade_duration": timedelta(0)},
    ],
)
def test_stake_and_duration_limits_are_checked_by_the_database(fields):
    with pytest.raises(IntegrityError):
        InstrumentFactory(symbol="LIM-USD", **fields)


def test_realtime_knows_active_symbols_through_the_registered_lookup():
    active_symbols.reset()
    InstrumentFactory(symbol="OFF-USD", active=False)
    assert symbol_is_valid("BTC-USD")
    assert not symbol_is_valid("OFF-USD")
    assert not symbol_is_valid("NOPE-USD")
