"""Portfolio serializers: explicit output fields (money as exact decimal
strings at the currency's scale) and the strict query input."""

from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from core.serializers import QuerySerializer

# The equity curve's window: a year of daily points at most (a bounded answer).
EQUITY_DAYS_MAX = 366
EQUITY_DAYS_DEFAULT = 30
# The first kept currency (USD: the only one today) when none is asked for.
DEFAULT_CURRENCY = "USD" if "USD" in settings.WALLET_CURRENCIES else sorted(settings.WALLET_CURRENCIES)[0]


def _money(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=30, decimal_places=2, read_only=True, help_text=help_text)


class PortfolioQuerySerializer(QuerySerializer):
    currency = serializers.ChoiceField(
        choices=sorted(settings.WALLET_CURRENCIES),
        default=DEFAULT_CURRENCY,
        help_text="The wallet currency (the only one kept today is USD).",
    )


class PortfolioSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    equity = _money(
        "available + reserved + the open trades' P&L at the latest price before fees (their opening "
        "fees already left available): what the wallet would hold if every open trade closed at the "
        "mark, before closing fees."
    )
    available = _money("Spendable balance.")
    reserved = _money("Held: open trades' stakes, queued trades' stake + opening fee, plans, withdrawals.")
    unrealised_pnl = _money(
        "Open trades: P&L at the latest price minus the opening fees already charged (the closing fee, "
        "not yet charged, is not deducted)."
    )
    realised_pnl_today = _money("Net P&L (P&L minus both fees) of trades settled since 00:00 UTC.")
    realised_pnl_all_time = _money("Net P&L (P&L minus both fees) of every settled trade.")
    fees_paid_today = _money(
        "Fees charged since 00:00 UTC (opening fees at the open, closing fees at the close)."
    )
    fees_paid_all_time = _money("Every fee charged.")
    open_trades = serializers.IntegerField(read_only=True)
    marks_stale = serializers.BooleanField(
        read_only=True,
        help_text="Some open trade had no fresh price: its last known (or entry) price was used.",
    )
    as_of = serializers.DateTimeField(read_only=True)


class EquityQuerySerializer(QuerySerializer):
    days = serializers.IntegerField(
        min_value=1,
        max_value=EQUITY_DAYS_MAX,
        default=EQUITY_DAYS_DEFAULT,
        help_text="How many UTC days back, today included.",
    )


class EquityPointSerializer(serializers.Serializer):
    day = serializers.DateField(read_only=True)
    equity = _money("Equity at the day's last snapshot.")
    available = _money("Available then.")
    reserved = _money("Reserved then.")
    unrealised = _money("Unrealised P&L then (net of the opening fees charged).")
    realised_to_date = _money("Net realised P&L up to then.")
    fees_to_date = _money("Fees paid up to then.")


class EquitySeriesSerializer(serializers.Serializer):
    currency = serializers.CharField(read_only=True)
    days = serializers.IntegerField(read_only=True)
    points = EquityPointSerializer(many=True, read_only=True)
