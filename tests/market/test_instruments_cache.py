"""The process's cache of active instruments (the trade request's lookup)."""

from decimal import Decimal

import pytest

from market.models import Instrument
from market.selectors.instruments import active_instruments, instrument_active

pytestmark = pytest.mark.django_db


def _make(symbol: str, **over) -> Instrument:
    return Instrument.objects.create(
        symbol=symbol, name=symbol, asset_class="crypto", price_scale=2, calendar="always",
        max_stake=Decimal("100.00"), **over,
    )  # fmt: skip


def test_a_hit_costs_no_query_and_an_edit_here_is_seen_at_once(django_assert_num_queries):
    inst = _make("CCH-USD")
    assert instrument_active("CCH-USD").pk == inst.pk  # loads
    with django_assert_num_queries(0):
        assert instrument_active("CCH-USD").max_stake == Decimal("100.00")
    inst.max_stake = Decimal("50.00")
    inst.save()
    assert instrument_active("CCH-USD").max_stake == Decimal("50.00")
    inst.active = False
    inst.save()
    assert instrument_active("CCH-USD") is None


def test_a_symbol_added_by_another_process_is_found_on_a_miss(django_assert_num_queries):
    instrument_active("BTC-USD")  # the cache is loaded and fresh
    # Another process's insert fires no signal here: a raw insert stands in for it.
    Instrument.objects.bulk_create([Instrument(
        symbol="NEW-USD", name="n", asset_class="crypto", price_scale=2, calendar="always",
    )])  # fmt: skip
    with django_assert_num_queries(1):
        assert instrument_active("NEW-USD").symbol == "NEW-USD"
    with django_assert_num_queries(0):
        assert instrument_active("NEW-USD").symbol == "NEW-USD"
    with django_assert_num_queries(1):
        assert instrument_active("NOPE-USD") is None


def test_a_deleted_instrument_leaves_the_cache():
    inst = _make("DEL-USD")
    assert instrument_active("DEL-USD") is not None
    inst.delete()
    assert instrument_active("DEL-USD") is None
    active_instruments.reset()
