"""Trade serializers: the output shape (API and every trade.* event) and the
request input. Explicit fields only; money and prices are exact strings."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

from core.idempotency import HEADER_PATTERN, KEY_MAX_LENGTH
from core.serializers import StatedField, StrictSerializer, decimal_pattern, decimal_schema
from trading.trades.inputs import PRICE_MAX_DIGITS
from trading.trades.models import CloseReason, Trade, TradeSide
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
    "held",
    "pnl",
    "net_pnl",
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
    fee = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        read_only=True,
        help_text="The opening fee while queued (held, not yet charged); then every fee charged: the "
        "opening fee, plus the closing fee once settled. 0 for a trade that never opened.",
    )
    pnl = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="Realised profit or loss before fees (null until settled).",
    )
    net_pnl = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="The net result: `pnl` minus every fee (`fee`: opening and closing), what the trade "
        "added to or took from the account (null until settled).",
    )
    # Declared: a read-only model field loses `allow_blank`, and the schema
    # then left out the "" of a trade that has not closed.
    close_reason = serializers.ChoiceField(
        choices=CloseReason.choices,
        allow_blank=True,
        read_only=True,
        help_text="Empty until the trade closes.",
    )

    class Meta:
        model = Trade
        fields: tuple[str, ...] = TRADE_FIELDS
        read_only_fields: tuple[str, ...] = TRADE_FIELDS

    def get_duration(self, trade: Trade) -> int:
        return int(trade.duration.total_seconds())


# Money at 2 places (the stake, fee, held and P&L fields), prices and quantity at 8.
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
        "held": _decimal_text(trade.held, 2),
        "pnl": _decimal_text(trade.pnl, 2),
        "net_pnl": _decimal_text(trade.net_pnl, 2),
        "attempts": trade.attempts,
        "next_attempt_at": _time_text(trade.next_attempt_at),
        "failure_code": trade.failure_code,
        "failure_reason": trade.failure_reason,
        "created_at": _time_text(trade.created_at),
        "updated_at": _time_text(trade.updated_at),
    }


# The finest price scale an instrument may have (`Instrument.price_scale`).
PRICE_MAX_PLACES = 8
_PRICE_MAXIMUM = Decimal(10) ** PRICE_MAX_DIGITS
PRICE_PATTERN = decimal_pattern(places=PRICE_MAX_PLACES, maximum=_PRICE_MAXIMUM, exclusive=True)


class PriceLevelField(StatedField):
    """A price level (take-profit, stop-loss): a plain decimal above 0 and
    below 10**12 with at most 8 places, or empty (none), checked here (400).
    The service then checks it against the instrument's own price scale and
    the current price, which only it knows (422,
    `trading.trades.inputs.parse_price`)."""

    _regex = re.compile(PRICE_PATTERN)

    def to_internal_value(self, data: Any) -> Any:
        if data == "":
            return None
        if (
            isinstance(data, bool)
            or not isinstance(data, (str, int, Decimal))
            or not self._regex.fullmatch(str(data))
        ):
            raise serializers.ValidationError(
                f'Enter a plain decimal price above 0 and below 10^{PRICE_MAX_DIGITS}, e.g. "65000.50".',
                code="invalid",
            )
        return Decimal(data) if isinstance(data, int) else data

    def to_representation(self, value: Any) -> str:
        return str(value)

    def openapi_schema(self) -> dict[str, Any]:
        schema = decimal_schema(
            places=PRICE_MAX_PLACES, maximum=_PRICE_MAXIMUM, pattern=PRICE_PATTERN, exclusive=True
        )
        schema["anyOf"][0]["pattern"] = f"^$|{PRICE_PATTERN}"  # empty: no level
        return schema


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

    # The header's rule (printable ASCII), stated by the schema's pattern.
    idempotency_key = serializers.CharField(
        required=False,
        min_length=1,
        max_length=KEY_MAX_LENGTH,
        trim_whitespace=False,
        validators=[RegexValidator(HEADER_PATTERN, "1 to 100 printable ASCII characters.")],
    )


class TradeBatchSerializer(StrictSerializer):
    # `many=True` hands min/max_length to the ListSerializer; the stubs do not know it.
    trades = TradeBatchItemSerializer(  # type: ignore[call-arg]
        many=True, min_length=1, max_length=settings.TRADE_BATCH_MAX_ITEMS
    )


def _money(help_text: str, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=20, decimal_places=2, read_only=True, help_text=help_text, **kwargs
    )


def _price(help_text: str, **kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=20, decimal_places=8, read_only=True, help_text=help_text, **kwargs
    )


class LevelOutcomeSerializer(serializers.Serializer):
    """The trade settled at its take-profit or stop-loss (at the quoted quantity)."""

    price = _price("The level.")
    pnl = _money("P&L before fees if the trade settles at the level.")
    closing_fee = _money("The closing fee at that P&L.")
    net_pnl = _money("P&L minus the opening and the closing fee: what the account gains or loses.")


class TradeQuoteSerializer(serializers.Serializer):
    """A trade request's quote (`POST trades/quote/`). Writes nothing."""

    instrument = serializers.CharField(read_only=True)
    side = serializers.ChoiceField(choices=TradeSide.choices, read_only=True)
    currency = serializers.CharField(read_only=True)
    stake = _money("The stake, at the currency's scale.")
    duration = serializers.IntegerField(
        read_only=True, help_text="The lifetime the request gets, in seconds."
    )
    price = _price(
        "The current mark at the instrument's price scale (null: no fresh price).", allow_null=True
    )
    price_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="When the mark was set.")
    quantity = _price(
        "What the stake buys at `price`, rounded down (null: no fresh price). The trade opens at the "
        "mark of its opening, which may differ.",
        allow_null=True,
    )
    fee = _money("The opening fee, held with the stake at the request and charged when it opens.")
    closing_fee = _money("The closing fee at settlement (less only if a loss leaves less of the stake).")
    total = _money("Stake + opening fee: exactly what the request holds.")
    max_loss = _money("The most the trade can lose: the stake and the opening fee.")
    available = serializers.DecimalField(
        max_digits=20, decimal_places=2, read_only=True, help_text="Available balance now."
    )
    available_after = serializers.DecimalField(
        max_digits=20,
        decimal_places=2,
        read_only=True,
        help_text="Available after the hold (negative: the request would be refused, insufficient_funds).",
    )
    funds_sufficient = serializers.BooleanField(read_only=True)
    market_open = serializers.BooleanField(
        read_only=True, help_text="A trade queued while closed is rejected (market_closed) when it opens."
    )
    next_open = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the market next opens (null: open now, or never closes).",
    )
    take_profit = LevelOutcomeSerializer(read_only=True, allow_null=True)
    stop_loss = LevelOutcomeSerializer(read_only=True, allow_null=True)
