"""Bars: the recorder's batched upserts, and aggregation to longer intervals
equal to hand-computed OHLCV."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market.feed.recorder import Recorder, ticks_prune
from market.feed.rollup import bars_rollup
from market.feed.sources import RandomWalk, SourceTick
from market.models import Bar, HourBar, PriceTick
from market.selectors.bars import BARS_MAX, OHLCV, BarsRangeError, bars_aggregate
from tests.factories import InstrumentFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def d(value: str) -> Decimal:
    return Decimal(value)


def make_bars(instrument, rows):
    """Store 1-minute bars as an import would, then rebuild their hour rollups."""
    bars = Bar.objects.bulk_create(
        Bar(instrument=instrument, start=start, open=o, high=h, low=lo, close=c, volume=v)
        for start, o, h, lo, c, v in rows
    )
    starts = [b.start for b in bars]
    bars_rollup(instrument_id=instrument.pk, start=min(starts), end=max(starts) + timedelta(minutes=1))


def hour_bars(instrument) -> list[tuple]:
    return list(
        HourBar.objects.filter(instrument=instrument)
        .order_by("start")
        .values_list("start", "open", "high", "low", "close", "volume")
    )


class TestAggregation:
    def test_1h_bars_equal_hand_computed_ohlcv(self):
        instrument = InstrumentFactory(symbol="AGG-USD", price_scale=2)
        # 14:58 and 14:59 belong to the 14:00 hour; 15:00-15:59 to the 15:00 hour; 16:00 to 16:00.
        make_bars(
            instrument,
            [
                (T0 - timedelta(minutes=2), "9.00", "9.50", "8.90", "9.20", "1"),
                (T0 - timedelta(minutes=1), "9.20", "9.90", "9.10", "9.80", "2"),
                (T0, "10.00", "10.50", "9.50", "10.20", "3.5"),
                (T0 + timedelta(minutes=1), "10.20", "12.00", "10.10", "11.00", "1.25"),
                (T0 + timedelta(minutes=30), "11.00", "11.10", "8.00", "8.50", "0.25"),
                (T0 + timedelta(minutes=59), "8.50", "9.00", "8.40", "8.80", "10"),
                (T0 + timedelta(minutes=60), "8.80", "8.90", "8.70", "8.75", "4"),
            ],
        )
        bars = bars_aggregate(
            instrument=instrument, interval="1h", start=T0 - timedelta(hours=1), end=T0 + timedelta(hours=2)
        )
        assert bars == [
            OHLCV(T0 - timedelta(hours=1), d("9.00"), d("9.90"), d("8.90"), d("9.80"), d("3")),
            # open of 15:00, max high 12.00 (15:01), min low 8.00 (15:30), close of 15:59, 3.5+1.25+0.25+10.
            OHLCV(T0, d("10.00"), d("12.00"), d("8.00"), d("8.80"), d("15.00")),
            OHLCV(T0 + timedelta(hours=1), d("8.80"), d("8.90"), d("8.70"), d("8.75"), d("4")),
        ]
        assert [str(b.open) for b in bars] == ["9.00", "10.00", "8.80"]  # the instrument's scale

    def test_other_instruments_bars_never_mix_in(self):
        mine = InstrumentFactory(symbol="MINE-USD")
        other = InstrumentFactory(symbol="OTHER-USD")
        make_bars(mine, [(T0, "1.00", "1.00", "1.00", "1.00", "1")])
        make_bars(other, [(T0, "5.00", "9.00", "0.10", "5.00", "7")])
        (bar,) = bars_aggregate(instrument=mine, interval="5m", start=T0, end=T0 + timedelta(minutes=5))
        assert (bar.high, bar.low, bar.volume) == (d("1.00"), d("1.00"), d("1"))

    def test_5m_15m_and_1d_buckets_are_aligned_to_utc(self):
        instrument = InstrumentFactory(symbol="ALN-USD")
        make_bars(
            instrument,
            [(T0 + timedelta(minutes=m), "1.00", "2.00", "0.50", "1.50", "1") for m in range(0, 20)],
        )
        start, end = T0 + timedelta(minutes=3), T0 + timedelta(minutes=20)
        five = bars_aggregate(instrument=instrument, interval="5m", start=start, end=end)
        assert [b.start for b in five] == [T0 + timedelta(minutes=m) for m in (0, 5, 10, 15)]
        assert [b.volume for b in five] == [d("5")] * 4  # the first bucket is floored to 15:00
        fifteen = bars_aggregate(instrument=instrument, interval="15m", start=T0, end=end)
        assert [(b.start, b.volume) for b in fifteen] == [(T0, d("15")), (T0 + timedelta(minutes=15), d("5"))]
        (day,) = bars_aggregate(instrument=instrument, interval="1d", start=T0, end=T0 + timedelta(hours=1))
        assert day.start == datetime(2026, 11, 30, tzinfo=UTC) and day.volume == d("20")

    def test_1m_returns_the_stored_bars_in_the_range(self):
        instrument = InstrumentFactory(symbol="ONE-USD")
        make_bars(
            instrument, [(T0 + timedelta(minutes=m), "1.00", "2.00", "0.50", "1.50", m) for m in range(5)]
        )
        bars = bars_aggregate(
            instrument=instrument,
            interval="1m",
            start=T0 + timedelta(minutes=1),
            end=T0 + timedelta(minutes=3),
        )
        assert [(b.start, b.volume) for b in bars] == [
            (T0 + timedelta(minutes=1), d("1")),
            (T0 + timedelta(minutes=2), d("2")),
        ]

    @pytest.mark.parametrize(
        ("interval", "start", "end", "field"),
        [
            ("2h", T0, T0 + timedelta(hours=1), "interval"),
            ("1h", T0, T0, "end"),
            ("1h", T0, T0 - timedelta(hours=1), "end"),
            ("1m", T0, T0 + timedelta(minutes=BARS_MAX + 1), "start"),
            ("1d", T0, T0 + timedelta(days=BARS_MAX + 1), "start"),
        ],
    )
    def test_bad_ranges_are_refused_naming_the_field(self, interval, start, end, field):
        instrument = InstrumentFactory(symbol="BAD-USD")
        with pytest.raises(BarsRangeError) as err:
            bars_aggregate(instrument=instrument, interval=interval, start=start, end=end)
        assert err.value.field == field

    def test_the_largest_allowed_range_is_accepted(self):
        instrument = InstrumentFactory(symbol="MAX-USD")
        assert (
            bars_aggregate(
                instrument=instrument, interval="1m", start=T0, end=T0 + timedelta(minutes=BARS_MAX)
            )
            == []
        )


def tick(at: datetime, price: str, volume: str = "1") -> SourceTick:
    return SourceTick(at=at, price=Decimal(price), volume=Decimal(volume))


class TestRecorder:
    def test_a_minute_flushed_in_pieces_equals_the_minute_flushed_at_once(self):
        instrument = InstrumentFactory(symbol="REC-USD")
        prices = ["10.00", "12.00", "9.00", "11.00", "10.50"]
        recorder = Recorder()
        for n, price in enumerate(prices):
            recorder.add(instrument.pk, tick(T0 + timedelta(seconds=10 * n), price))
            if n in (1, 3):
                recorder.flush()  # also what a restart in mid-minute looks like to the database
        recorder.flush()
        bar = Bar.objects.get(instrument=instrument)
        assert (bar.start, bar.open, bar.high, bar.low, bar.close, bar.volume) == (
            T0,
            d("10.00"),
            d("12.00"),
            d("9.00"),
            d("10.50"),
            d("5"),
        )

    def test_ticks_keep_the_last_price_of_each_second_and_bars_split_by_minute(self):
        instrument = InstrumentFactory(symbol="SEC-USD")
        recorder = Recorder()
        for at, price in [
            (T0 + timedelta(milliseconds=100), "1.00"),
            (T0 + timedelta(milliseconds=900), "2.00"),
            (T0 + timedelta(seconds=59, milliseconds=500), "3.00"),
            (T0 + timedelta(seconds=60), "4.00"),
        ]:
            recorder.add(instrument.pk, tick(at, price))
        assert recorder.flush() == 2 + 1 + 3  # minute bars, hour bar, 1-second ticks
        assert list(
            PriceTick.objects.filter(instrument=instrument).order_by("at").values_list("at", "price")
        ) == [
            (T0 + timedelta(milliseconds=900), d("2.00")),
            (T0 + timedelta(seconds=59, milliseconds=500), d("3.00")),
            (T0 + timedelta(seconds=60), d("4.00")),
        ]
        assert list(Bar.objects.filter(instrument=instrument).values_list("start", "close")) == [
            (T0, d("3.00")),
            (T0 + timedelta(minutes=1), d("4.00")),
        ]
        assert recorder.pending == 0 and recorder.flush() == 0

    def test_hour_rollups_written_with_the_minutes_equal_a_rebuild_from_the_minutes(self):
        instrument = InstrumentFactory(symbol="ROL-USD")
        walk = RandomWalk(
            symbol="ROL-USD", price_scale=2, start_price=Decimal(100), volatility=Decimal(3), seed=5
        )
        recorder = Recorder()
        start = T0 - timedelta(minutes=50)
        # 2.5 hours of ticks every 7 seconds, flushed every 10 minutes.
        for n in range(1, 1286):
            for t in walk.ticks(start + timedelta(seconds=7 * (n - 1)), start + timedelta(seconds=7 * n)):
                recorder.add(instrument.pk, t)
            if n % 86 == 0:
                recorder.flush()
        recorder.flush()
        written = hour_bars(instrument)
        assert [row[0] for row in written] == [T0 - timedelta(hours=1), T0, T0 + timedelta(hours=1)]
        HourBar.objects.filter(instrument=instrument).delete()
        assert bars_rollup(instrument_id=instrument.pk, start=start, end=T0 + timedelta(hours=2)) == 3
        assert hour_bars(instrument) == written

    def test_prune_deletes_only_ticks_older_than_the_retention(self):
        instrument = InstrumentFactory(symbol="PRU-USD")
        PriceTick.objects.create(instrument=instrument, at=T0 - timedelta(days=31), price="1.00")
        PriceTick.objects.create(instrument=instrument, at=T0 - timedelta(days=29), price="2.00")
        assert ticks_prune(older_than=T0 - timedelta(days=30)) == 1
        assert list(PriceTick.objects.filter(instrument=instrument).values_list("price", flat=True)) == [
            d("2.00")
        ]
