"""The price service: latest price from Redis with explicit staleness, and the
recorded price at an instant from PostgreSQL."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings

from market.feed.runner import MarketFeed
from market.feed.sources import RandomWalk
from market.models import Bar, PriceTick
from market.prices import (
    price_at,
    price_at_many,
    price_last_known,
    price_latest,
    price_latest_many,
    price_record,
    price_recorded_mark,
    price_recorded_through,
)
from tests.factories import InstrumentFactory

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


class TestLatest:
    def test_missing_price_is_stale_with_no_price(self):
        quote = price_latest("BTC-USD")
        assert (quote.symbol, quote.price, quote.at, quote.stale) == ("BTC-USD", None, None, True)

    @override_settings(PRICE_STALE_AFTER=30)
    def test_fresh_until_the_configured_age_then_stale(self):
        price_record(prices={"BTC-USD": (Decimal("65000.12"), T0)})
        fresh = price_latest("BTC-USD", now=T0 + timedelta(seconds=30))
        assert (fresh.price, fresh.at, fresh.stale) == (Decimal("65000.12"), T0, False)
        stale = price_latest("BTC-USD", now=T0 + timedelta(seconds=30, microseconds=1))
        assert (stale.price, stale.at, stale.stale) == (Decimal("65000.12"), T0, True)

    def test_many_reads_several_symbols_at_once(self):
        price_record(prices={"BTC-USD": (Decimal("1.10"), T0), "ETH-USD": (Decimal("2.20"), T0)})
        quotes = price_latest_many(["BTC-USD", "ETH-USD", "GOOG"], now=T0)
        assert {s: (q.price, q.stale) for s, q in quotes.items()} == {
            "BTC-USD": (Decimal("1.10"), False),
            "ETH-USD": (Decimal("2.20"), False),
            "GOOG": (None, True),
        }

    def test_prices_live_under_the_run_s_cache_prefix(self):
        price_record(prices={"BTC-USD": (Decimal("1.10"), T0)})
        assert cache.get("price:latest:BTC-USD") == {"price": "1.10", "at": T0.isoformat()}


@pytest.mark.django_db
class TestStalenessWithTheFeedStopped:
    @override_settings(PRICE_STALE_AFTER=5)
    def test_a_price_the_feed_wrote_turns_stale_after_the_configured_age(self):
        instrument = InstrumentFactory(symbol="BTC-USD")
        clock = {"now": T0}
        feed = MarketFeed(
            instruments=[
                (
                    instrument,
                    RandomWalk(
                        symbol="BTC-USD",
                        price_scale=2,
                        start_price=Decimal("65000"),
                        volatility=Decimal("0.6"),
                        seed=1,
                    ),
                )
            ],
            tick_interval=0.1,
            flush_interval=1.0,
            max_rate=4,
            publish=lambda **kw: None,
            now=lambda: clock["now"],
            clock=lambda: (clock["now"] - T0).total_seconds(),
            sleep=lambda s: clock.update(now=clock["now"] + timedelta(milliseconds=round(s * 1000))),
        )
        feed.run(steps=20)  # two simulated seconds, then the feed stops
        last_tick_at = T0 + timedelta(seconds=1.9)
        quote = price_latest("BTC-USD", now=last_tick_at + timedelta(seconds=5))
        assert quote.price is not None and quote.at == last_tick_at and not quote.stale
        assert quote.price == price_at("BTC-USD", last_tick_at)
        later = price_latest("BTC-USD", now=last_tick_at + timedelta(seconds=5, milliseconds=1))
        assert later.stale and later.price == quote.price


@pytest.mark.django_db
class TestPriceAt:
    def test_last_tick_at_or_before_the_instant(self):
        instrument = InstrumentFactory(symbol="AT-USD", price_scale=2)
        for seconds, price in [(0, "10.00"), (1, "11.00"), (2, "12.00")]:
            PriceTick.objects.create(instrument=instrument, at=T0 + timedelta(seconds=seconds), price=price)
        assert price_at("AT-USD", T0 - timedelta(microseconds=1)) is None
        assert price_at("AT-USD", T0) == Decimal("10.00")
        assert price_at("AT-USD", T0 + timedelta(seconds=1, milliseconds=999)) == Decimal("11.00")
        assert price_at("AT-USD", T0 + timedelta(days=3)) == Decimal("12.00")
        # Quantized to the instrument's scale, not the column's 8 places.
        assert str(price_at("AT-USD", T0)) == "10.00"

    def test_falls_back_to_the_close_of_the_last_whole_bar_once_ticks_are_pruned(self):
        instrument = InstrumentFactory(symbol="OLD-USD", price_scale=2)
        Bar.objects.create(
            instrument=instrument, start=T0, open="1.00", high="3.00", low="0.50", close="2.00", volume=1
        )
        # The bar starting at T0 is only known to have ended at T0 + 1 minute.
        assert price_at("OLD-USD", T0 + timedelta(seconds=59)) is None
        assert price_at("OLD-USD", T0 + timedelta(minutes=1)) == Decimal("2.00")

    def test_many_instants_answer_as_one_each_in_two_queries(self, django_assert_num_queries):
        instrument = InstrumentFactory(symbol="MNY-USD", price_scale=2)
        for ms, price in [(0, "10.00"), (400, "10.40"), (1500, "11.50"), (2900, "12.90")]:
            PriceTick.objects.create(instrument=instrument, at=T0 + timedelta(milliseconds=ms), price=price)
        instants = [T0 + timedelta(milliseconds=ms) for ms in (0, 399, 400, 1000, 1499, 1500, 2000, 5000)]
        with django_assert_num_queries(2):
            answers = price_at_many("MNY-USD", instants)
        assert answers == {at: price_at("MNY-USD", at) for at in instants}
        assert [str(answers[at]) for at in instants[:3]] == ["10.00", "10.00", "10.40"]
        before = T0 - timedelta(milliseconds=1)
        assert price_at_many("MNY-USD", [before, T0]) == {before: None, T0: Decimal("10.00")}
        assert price_at_many("MNY-USD", []) == {}

    def test_unknown_symbol_has_no_price(self):
        assert price_at("NOPE", T0) is None

    def test_last_known_prefers_redis_then_postgres(self):
        instrument = InstrumentFactory(symbol="LK-USD", price_scale=2)
        PriceTick.objects.create(instrument=instrument, at=T0, price="5.00")
        assert price_last_known("LK-USD") == Decimal("5.00")
        price_record(prices={"LK-USD": (Decimal("6.00"), T0)})
        assert price_last_known("LK-USD") == Decimal("6.00")


def test_recorded_through_is_unknown_until_the_feed_marks_it():
    assert price_recorded_through("BTC-USD") is None
    price_recorded_mark(symbols=["BTC-USD"], through=T0)
    assert price_recorded_through("BTC-USD") == T0
