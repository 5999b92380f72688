"""The market app takes over the model state of instruments, bars, hour bars
and price ticks from the trading app. State only: the tables were created by
trading 0001 and 0004, keep their names (`db_table`) and rows, and nothing
runs against the database here. trading 0006 then repoints the trade and plan
foreign keys and drops the models from trading's state."""

import datetime
import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models

OHLC_CONSISTENT = (
    models.Q(("low__lte", models.F("open")), ("low__lte", models.F("close")), ("high__gte", models.F("open")), ("high__gte", models.F("close")))
)


def ohlcv_fields(related_name):
    return [
        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
        ("start", models.DateTimeField()),
        ("open", models.DecimalField(decimal_places=8, max_digits=20)),
        ("high", models.DecimalField(decimal_places=8, max_digits=20)),
        ("low", models.DecimalField(decimal_places=8, max_digits=20)),
        ("close", models.DecimalField(decimal_places=8, max_digits=20)),
        ("volume", models.DecimalField(decimal_places=8, default=0, max_digits=28)),
        ("instrument", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name=related_name, to="market.instrument")),
    ]


def ohlcv_options(prefix):
    return {
        "db_table": f"trading_{prefix}",
        "ordering": ["instrument", "start"],
        "abstract": False,
        "constraints": [
            models.UniqueConstraint(fields=("instrument", "start"), name=f"{prefix}_instrument_start_uniq"),
            models.CheckConstraint(condition=OHLC_CONSISTENT, name=f"{prefix}_ohlc_consistent"),
        ],
    }


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("trading", "0005_trade_expiry_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Instrument",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("symbol", models.CharField(max_length=20, unique=True)),
                        ("name", models.CharField(max_length=100)),
                        ("asset_class", models.CharField(choices=[("crypto", "Crypto"), ("fx", "Foreign exchange"), ("equity", "Equity")], max_length=10)),
                        ("quote_currency", models.CharField(default="USD", max_length=3)),
                        ("price_scale", models.PositiveSmallIntegerField(validators=[django.core.validators.MaxValueValidator(8)])),
                        ("quantity_scale", models.PositiveSmallIntegerField(default=8, validators=[django.core.validators.MaxValueValidator(8)])),
                        ("fee_bps", models.PositiveIntegerField(default=10, validators=[django.core.validators.MaxValueValidator(1000)])),
                        ("min_stake", models.DecimalField(decimal_places=2, default=Decimal("1.00"), max_digits=20)),
                        ("max_stake", models.DecimalField(decimal_places=2, default=Decimal("10000.00"), max_digits=20)),
                        ("max_trade_duration", models.DurationField(default=datetime.timedelta(days=7))),
                        ("active", models.BooleanField(default=True)),
                        ("calendar", models.CharField(choices=[("always", "Always open"), ("fx", "FX hours (Sun 17:00 to Fri 17:00 New York)"), ("xnys", "New York Stock Exchange")], max_length=10)),
                        ("feed_source", models.CharField(choices=[("random_walk", "Random walk (simulated)"), ("replay", "Replay of historical bars")], default="random_walk", max_length=20)),
                        ("feed_params", models.JSONField(blank=True, default=dict)),
                    ],
                    options={
                        "db_table": "trading_instrument",
                        "ordering": ["symbol"],
                        "constraints": [
                            models.CheckConstraint(condition=models.Q(("min_stake__gt", 0), ("max_stake__gte", models.F("min_stake"))), name="instrument_stake_limits_valid"),
                            models.CheckConstraint(condition=models.Q(("max_trade_duration__gt", datetime.timedelta(0))), name="instrument_max_duration_positive"),
                        ],
                    },
                ),
                migrations.CreateModel(name="Bar", fields=ohlcv_fields("bars"), options=ohlcv_options("bar")),
                migrations.CreateModel(
                    name="HourBar", fields=ohlcv_fields("hour_bars"), options=ohlcv_options("hourbar")
                ),
                migrations.CreateModel(
                    name="PriceTick",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("at", models.DateTimeField()),
                        ("price", models.DecimalField(decimal_places=8, max_digits=20)),
                        ("instrument", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="ticks", to="market.instrument")),
                    ],
                    options={
                        "db_table": "trading_pricetick",
                        "constraints": [models.UniqueConstraint(fields=("instrument", "at"), name="pricetick_instrument_at_uniq")],
                    },
                ),
            ],
        ),
    ]
