"""Seed the instruments the platform starts with (docs/market-data.md).

Idempotent: an instrument that already exists (e.g. edited in the admin) is
left as it is.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import migrations

INSTRUMENTS = [
    {
        "symbol": "BTC-USD",
        "name": "Bitcoin / US dollar",
        "asset_class": "crypto",
        "price_scale": 2,
        "fee_bps": 10,
        "min_stake": Decimal("1.00"),
        "max_stake": Decimal("10000.00"),
        "max_trade_duration": timedelta(days=7),
        "calendar": "always",
        "feed_source": "random_walk",
        "feed_params": {"start_price": "65000.00", "volatility": "0.60", "file": "BTCUSD.csv", "bar_seconds": 600},
    },
    {
        "symbol": "ETH-USD",
        "name": "Ether / US dollar",
        "asset_class": "crypto",
        "price_scale": 2,
        "fee_bps": 10,
        "min_stake": Decimal("1.00"),
        "max_stake": Decimal("10000.00"),
        "max_trade_duration": timedelta(days=7),
        "calendar": "always",
        "feed_source": "random_walk",
        "feed_params": {"start_price": "3200.00", "volatility": "0.75"},
    },
    {
        "symbol": "EUR-USD",
        "name": "Euro / US dollar",
        "asset_class": "fx",
        "price_scale": 5,
        "fee_bps": 2,
        "min_stake": Decimal("1.00"),
        "max_stake": Decimal("50000.00"),
        "max_trade_duration": timedelta(days=5),
        "calendar": "fx",
        "feed_source": "replay",
        "feed_params": {"start_price": "1.08500", "volatility": "0.08", "file": "EURUSD.csv", "bar_seconds": 60},
    },
    {
        "symbol": "GOOG",
        "name": "Alphabet Inc. (Google)",
        "asset_class": "equity",
        "price_scale": 2,
        "fee_bps": 5,
        "min_stake": Decimal("1.00"),
        "max_stake": Decimal("20000.00"),
        "max_trade_duration": timedelta(days=3),
        "calendar": "xnys",
        "feed_source": "replay",
        "feed_params": {"start_price": "175.00", "volatility": "0.30", "file": "GOOG.csv", "bar_seconds": 300},
    },
    {
        "symbol": "AAPL",
        "name": "Apple Inc.",
        "asset_class": "equity",
        "price_scale": 2,
        "fee_bps": 5,
        "min_stake": Decimal("1.00"),
        "max_stake": Decimal("20000.00"),
        "max_trade_duration": timedelta(days=3),
        "calendar": "xnys",
        "feed_source": "random_walk",
        "feed_params": {"start_price": "230.00", "volatility": "0.28"},
    },
]


def seed_rows(Instrument):
    """Create the missing instruments with the model given: the historical
    one here, `market.Instrument` for tests that re-seed after a flush."""
    for row in INSTRUMENTS:
        fields = {k: v for k, v in row.items() if k != "symbol"}
        Instrument.objects.get_or_create(symbol=row["symbol"], defaults={**fields, "quote_currency": "USD"})


def seed(apps, schema_editor):
    seed_rows(apps.get_model("trading", "Instrument"))


def unseed(apps, schema_editor):
    Instrument = apps.get_model("trading", "Instrument")
    Instrument.objects.filter(symbol__in=[row["symbol"] for row in INSTRUMENTS], bars__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("trading", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
