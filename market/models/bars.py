"""Recorded prices: 1-minute OHLCV bars and 1-second price ticks.

`Bar` is the 1-minute bar the feed writes in batches (upserts that widen high/low,
move the close and add volume, so a bar survives restarts and flush retries).
`HourBar` is its 1-hour rollup, written in the same transaction. Intervals
are aggregated in SQL (`market.selectors.bars`): 5m and 15m from `Bar`, 1d
from `HourBar`. The unique index on (instrument, start) of each serves every
range query.

`PriceTick` keeps the last price of each second per instrument for a bounded
retention (`PRICE_TICK_RETENTION_DAYS`): `market.prices.price_at` answers
"last recorded price at or before an instant" from it to the second, and
falls back to 1-minute bar closes once ticks are pruned.
"""

from django.db import models


class OHLCVBar(models.Model):
    """What a bar of any interval holds; each concrete bar names its
    instrument relation and its table. Constraint names follow the class
    (`bar_...`, `hourbar_...`), as the tables have them."""

    start = models.DateTimeField()
    open = models.DecimalField(max_digits=20, decimal_places=8)
    high = models.DecimalField(max_digits=20, decimal_places=8)
    low = models.DecimalField(max_digits=20, decimal_places=8)
    close = models.DecimalField(max_digits=20, decimal_places=8)
    volume = models.DecimalField(max_digits=28, decimal_places=8, default=0)

    class Meta:
        abstract = True
        ordering = ["instrument", "start"]
        constraints = [
            # Also the index of every range query: (instrument_id, start).
            models.UniqueConstraint(fields=["instrument", "start"], name="%(class)s_instrument_start_uniq"),
            models.CheckConstraint(
                condition=models.Q(low__lte=models.F("open"))
                & models.Q(low__lte=models.F("close"))
                & models.Q(high__gte=models.F("open"))
                & models.Q(high__gte=models.F("close")),
                name="%(class)s_ohlc_consistent",
            ),
        ]


class Bar(OHLCVBar):
    instrument = models.ForeignKey("market.Instrument", on_delete=models.PROTECT, related_name="bars")

    class Meta(OHLCVBar.Meta):
        db_table = "trading_bar"

    def __str__(self) -> str:
        return f"{self.instrument_id}@{self.start.isoformat()}"


class HourBar(OHLCVBar):
    """1-hour rollup of `Bar`, kept in the same transaction as the 1-minute
    bars it summarises (market.feed.recorder) or rebuilt from them
    (`market.feed.rollup.bars_rollup`). Serves 1h and 1d queries, which
    would otherwise aggregate tens of thousands of 1-minute rows per request."""

    instrument = models.ForeignKey("market.Instrument", on_delete=models.PROTECT, related_name="hour_bars")

    class Meta(OHLCVBar.Meta):
        db_table = "trading_hourbar"

    def __str__(self) -> str:
        return f"{self.instrument_id}@{self.start.isoformat()} 1h"


class PriceTick(models.Model):
    instrument = models.ForeignKey("market.Instrument", on_delete=models.PROTECT, related_name="ticks")
    at = models.DateTimeField()
    price = models.DecimalField(max_digits=20, decimal_places=8)

    class Meta:
        db_table = "trading_pricetick"
        constraints = [
            models.UniqueConstraint(fields=["instrument", "at"], name="pricetick_instrument_at_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id}@{self.at.isoformat()}={self.price}"
