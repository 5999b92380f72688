"""Instruments: what can be traded, at which scale, under which limits and
trading calendar, and which feed source prices it by default.

An instrument is admin-editable reference data. Prices are quoted in
`quote_currency` at `price_scale` decimal places; quantities at
`quantity_scale`. The feed source stored here is the default; the setting
`MARKET_FEED_SOURCES` can override it per symbol (docs/market-data.md).
"""

from datetime import timedelta
from decimal import Decimal

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q


class AssetClass(models.TextChoices):
    CRYPTO = "crypto", "Crypto"
    FX = "fx", "Foreign exchange"
    EQUITY = "equity", "Equity"


class CalendarKind(models.TextChoices):
    ALWAYS = "always", "Always open"
    FX = "fx", "FX hours (Sun 17:00 to Fri 17:00 New York)"
    XNYS = "xnys", "New York Stock Exchange"


class FeedSource(models.TextChoices):
    RANDOM_WALK = "random_walk", "Random walk (simulated)"
    REPLAY = "replay", "Replay of historical bars"


class Instrument(models.Model):
    symbol = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    asset_class = models.CharField(max_length=10, choices=AssetClass.choices)
    quote_currency = models.CharField(max_length=3, default="USD")
    price_scale = models.PositiveSmallIntegerField(validators=[MaxValueValidator(8)])
    quantity_scale = models.PositiveSmallIntegerField(default=8, validators=[MaxValueValidator(8)])
    # Basis points of the stake charged when a trade opens (10 = 0.10 %).
    fee_bps = models.PositiveIntegerField(default=10, validators=[MaxValueValidator(1000)])
    min_stake = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("1.00"))
    max_stake = models.DecimalField(max_digits=20, decimal_places=2, default=Decimal("10000.00"))
    max_trade_duration = models.DurationField(default=timedelta(days=7))
    active = models.BooleanField(default=True)
    calendar = models.CharField(max_length=10, choices=CalendarKind.choices)
    feed_source = models.CharField(max_length=20, choices=FeedSource.choices, default=FeedSource.RANDOM_WALK)
    # Source parameters, e.g. {"start_price": "65000", "volatility": "0.6"}
    # (annualised) for the random walk, {"file": "GOOG.csv", "bar_seconds": 60}
    # for a replay. Validated by the source when the feed starts.
    feed_params = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "trading_instrument"
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_stake__gt=0) & Q(max_stake__gte=F("min_stake")),
                name="instrument_stake_limits_valid",
            ),
            models.CheckConstraint(
                condition=Q(max_trade_duration__gt=timedelta(0)), name="instrument_max_duration_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.symbol

    @property
    def price_quantum(self) -> Decimal:
        """The smallest price step, e.g. Decimal("0.01") for a scale of 2."""
        return Decimal(1).scaleb(-self.price_scale)
