"""Trade serializers: the output shape (API and every trade.* event) and the
request input. Explicit fields only; money and prices are exact strings."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.idempotency import KEY_MAX_LENGTH
from core.serializers import StrictSerializer
from trading.trades.models import Trade, TradeSide
from wallets.money import MoneyField

TRADE_FIELDS = (
    "id",
    "instrument",
    "side",
    "status",
    "source",
    "plan",
    "currency",
    "stake",
    "quantity",
    "duration",
    "take_profit",
    "stop_loss",
    "liquidation_price",
    "entry_price",
    "opened_at",
    "expires_at",
    "exit_price",
    "closed_at",
    "close_reason",
    "fee",
    "pnl",
    "attempts",
    "next_attempt_at",
    "failure_code",
    "failure_reason",
    "created_at",
    "updated_at",
)


class TradeSerializer(serializers.ModelSerializer):
    """The full current trade: the API's output and the data of every trade.* event."""

    instrument = serializers.CharField(source="instrument.symbol", read_only=True)
    plan = serializers.IntegerField(source="plan_id", read_only=True, allow_null=True)
    duration = serializers.SerializerMethodField(help_text="Requested lifetime in seconds.")

    class Meta:
        model = Trade
        fields: tuple[str, ...] = TRADE_FIELDS
        read_only_fields: tuple[str, ...] = TRADE_FIELDS

    def get_duration(self, trade: Trade) -> int:
        return int(trade.duration.total_seconds())


# Money at 2 places (the stake, fee and P&L fields), prices and quantity at 8.
_QUANTUM = {2: Decimal("0.01"), 8: Decimal("0.00000001")}


def _decimal_text(value: Decimal | int | None, places: int) -> str | None:
    # An unsaved trade still holds the field default, the int 0.
    return None if value is None else f"{Decimal(value).quantize(_QUANTUM[places]):f}"


def _time_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def trade_data(trade: Trade) -> dict[str, Any]:
    """Exactly `TradeSerializer(trade).data` (a test holds them equal), built
    directly, in `TRADE_FIELDS` order: settlement publishes one per trade,
    and building a ModelSerializer per event cost more than the settlement's
    SQL."""
    return {
        "id": trade.pk,
        "instrument": trade.instrument.symbol,
        "side": trade.side,
        "status": trade.status,
        "source": trade.source,
        "plan": trade.plan_id,
        "currency": trade.currency,
        "stake": _decimal_text(trade.stake, 2),
        "quantity": _decimal_text(trade.quantity, 8),
        "duration": int(trade.duration.total_seconds()),
        "take_profit": _decimal_text(trade.take_profit, 8),
        "stop_loss": _decimal_text(trade.stop_loss, 8),
        "liquidation_price": _decimal_text(trade.liquidation_price, 8),
        "entry_price": _decimal_text(trade.entry_price, 8),
        "opened_at": _time_text(trade.opened_at),
        "expires_at": _time_text(trade.expires_at),
        "exit_price": _decimal_text(trade.exit_price, 8),
        "closed_at": _time_text(trade.closed_at),
        "close_reason": trade.close_reason,
        "fee": _decimal_text(trade.fee, 2),
        "pnl": _decimal_text(trade.pnl, 2),
        "attempts": trade.attempts,
        "next_attempt_at": _time_text(trade.next_attempt_at),
        "failure_code": trade.failure_code,
        "failure_reason": trade.failure_reason,
        "created_at": _time_text(trade.created_at),
        "updated_at": _time_text(trade.updated_at),
    }


@extend_schema_field(OpenApiTypes.DECIMAL)
class PriceLevelField(serializers.Field):
    """A price level (take-profit, stop-loss) as given; the service checks it
    against the instrument's price scale and the current price, which only
    it knows (`trading.trades.inputs.parse_price`)."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> str:
        return str(value)


class TradeRequestSerializer(StrictSerializer):
    """Input of a trade request (API create, batch items, the HTML form)."""

    instrument = serializers.CharField(max_length=20, trim_whitespace=False)  # " BTC-USD" is not a symbol
    side = serializers.ChoiceField(choices=TradeSide.choices)
    stake = MoneyField()
    duration = serializers.IntegerField(
        required=False,
        min_value=int(settings.TRADE_MIN_DURATION.total_seconds()),
        max_value=int(settings.TRADE_MAX_DURATION.total_seconds()),
        help_text="Lifetime in seconds (default 24 h; 60 s to the instrument's maximum).",
    )
    take_profit = PriceLevelField(required=False, allow_null=True)
    stop_loss = PriceLevelField(required=False, allow_null=True)


class TradeBatchItemSerializer(TradeRequestSerializer):
    """A batch item: a trade request, optionally with its own idempotency key
    (else `<Idempotency-Key>:<index>`)."""

    idempotency_key = serializers.CharField(required=False, min_length=1, max_length=KEY_MAX_LENGTH)


class TradeBatchSerializer(StrictSerializer):
    # `many=True` hands min/max_length to the ListSerializer; the stubs do not know it.
    trades = TradeBatchItemSerializer(  # type: ignore[call-arg]
        many=True, min_length=1, max_length=settings.TRADE_BATCH_MAX_ITEMS
    )
