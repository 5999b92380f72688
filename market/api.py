"""Market data API: instruments with their latest price, bars, calendars and
the market clock. Read-only, for authenticated users (the project default).

Views only parse query parameters with a serializer, call one selector and
shape the answer; errors are `DomainError`s (422 naming the field for a
refused range, 404 for an unknown or inactive symbol).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.converters import SCHEMA as PATH_SCHEMA
from core.errors import DomainError
from core.serializers import QuerySerializer, StrictDateField, StrictDateTimeField
from market.models import Instrument
from market.prices import Quote, price_latest, price_latest_many
from market.selectors.bars import DEFAULT_BARS, INTERVALS, OHLCV, bars_aggregate
from market.selectors.instruments import (
    CALENDAR_MAX_DAYS,
    instrument_get,
    instrument_list,
    market_clock,
    market_sessions,
)

# --- serializers ---------------------------------------------------------------


class PriceField(serializers.DecimalField):
    """A price as a string at the scale it was quantized to (the instrument's price scale)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_digits=None, decimal_places=None, coerce_to_string=True, **kwargs)


class QuoteSerializer(serializers.Serializer):
    price = PriceField(allow_null=True)
    at = serializers.DateTimeField(allow_null=True)
    age_seconds = serializers.DecimalField(max_digits=20, decimal_places=3, allow_null=True)
    stale = serializers.BooleanField()


class InstrumentSerializer(serializers.ModelSerializer):
    quote = serializers.SerializerMethodField()

    class Meta:
        model = Instrument
        fields = [
            "symbol",
            "name",
            "asset_class",
            "quote_currency",
            "price_scale",
            "quantity_scale",
            "fee_bps",
            "min_stake",
            "max_stake",
            "max_trade_duration",
            "calendar",
            "quote",
        ]
        read_only_fields = fields

    @extend_schema_field(QuoteSerializer)
    def get_quote(self, instrument: Instrument) -> dict[str, Any]:
        quote: Quote = self.context["quotes"][instrument.symbol]
        return quote_data(quote, instrument)


def quote_data(quote: Quote, instrument: Instrument) -> dict[str, Any]:
    age = quote.age
    return QuoteSerializer(
        {
            "price": None if quote.price is None else quote.price.quantize(instrument.price_quantum),
            "at": quote.at,
            "age_seconds": None if age is None else Decimal(age // timedelta(milliseconds=1)) / 1000,
            "stale": quote.stale,
        }
    ).data


class ClockSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    is_open = serializers.BooleanField()
    next_open = serializers.DateTimeField(allow_null=True)
    next_close = serializers.DateTimeField(allow_null=True)
    zone = serializers.CharField(
        help_text="The IANA time zone the market states its hours in (its times are shown in it)."
    )


class InstrumentDetailSerializer(InstrumentSerializer):
    clock = serializers.SerializerMethodField()

    class Meta(InstrumentSerializer.Meta):
        fields = [*InstrumentSerializer.Meta.fields, "clock"]
        read_only_fields = fields

    @extend_schema_field(ClockSerializer)
    def get_clock(self, instrument: Instrument) -> dict[str, Any]:
        return ClockSerializer(market_clock(instrument=instrument, at=self.context["now"])).data


class BarsQuerySerializer(QuerySerializer):
    interval = serializers.ChoiceField(choices=list(INTERVALS), default="1m")
    start = StrictDateTimeField(required=False)
    end = StrictDateTimeField(required=False)


class BarSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    open = PriceField()
    high = PriceField()
    low = PriceField()
    close = PriceField()
    volume = PriceField()


class BarsSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    interval = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    bars = BarSerializer(many=True, required=False)


def bar_data(bar: OHLCV) -> dict[str, str]:
    """What `BarSerializer` gives, built directly: up to 20,000 bars per answer
    through DRF fields cost more than the query (bench/bars.py). Bar starts
    are UTC (selectors.bars builds them so), hence the plain "Z" suffix."""
    return {
        "start": bar.start.isoformat()[:-6] + "Z",
        "open": f"{bar.open:f}",
        "high": f"{bar.high:f}",
        "low": f"{bar.low:f}",
        "close": f"{bar.close:f}",
        "volume": f"{bar.volume:f}",
    }


class CalendarQuerySerializer(QuerySerializer):
    start = StrictDateField(required=False)
    end = StrictDateField(required=False)


class SessionSerializer(serializers.Serializer):
    date = serializers.DateField()
    open = serializers.DateTimeField()
    close = serializers.DateTimeField()


class ClockResponseSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    instruments = ClockSerializer(many=True)


# --- views -----------------------------------------------------------------------

# The path's symbol (its schema comes from the URL converter), with an
# instrument that exists as an example: clients and the fuzz suite see one.
SYMBOL = OpenApiParameter(
    "symbol",
    type=PATH_SCHEMA["symbol"],
    location=OpenApiParameter.PATH,
    examples=[OpenApiExample("Bitcoin", value="BTC-USD"), OpenApiExample("Alphabet", value="GOOG")],
)

RANGE_REFUSED = OpenApiResponse(
    OpenApiTypes.OBJECT, description="The dates are well formed, the range is refused (`code` says why)."
)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class InstrumentListApi(APIView):
    @extend_schema(
        summary="List active instruments with their latest quote",
        responses=InstrumentSerializer(many=True),
        tags=["market"],
    )
    def get(self, request: Request) -> Response:
        instruments = list(instrument_list())
        quotes = price_latest_many([i.symbol for i in instruments])
        data = InstrumentSerializer(instruments, many=True, context={"quotes": quotes}).data
        return Response(data)


class InstrumentDetailApi(APIView):
    @extend_schema(
        summary="One instrument: latest price, its age and staleness, market open/closed",
        parameters=[SYMBOL],
        responses=InstrumentDetailSerializer,
        tags=["market"],
    )
    def get(self, request: Request, symbol: str) -> Response:
        instrument = instrument_get(symbol=symbol)
        context = {"quotes": {symbol: price_latest(symbol)}, "now": timezone.now()}
        return Response(InstrumentDetailSerializer(instrument, context=context).data)


class BarsApi(APIView):
    @extend_schema(
        summary="OHLCV bars aggregated from stored 1-minute bars",
        description=(
            "Buckets aligned to UTC whose start lies in [start, end). Defaults: interval 1m, "
            f"end now, start {DEFAULT_BARS} intervals before end. At most 20,000 bars per answer "
            "(422 `invalid_range` beyond, and when end is not after start)."
        ),
        parameters=[SYMBOL, BarsQuerySerializer],
        responses={200: BarsSerializer, 422: RANGE_REFUSED},
        tags=["market"],
    )
    def get(self, request: Request, symbol: str) -> Response:
        instrument = instrument_get(symbol=symbol)
        query = _query(BarsQuerySerializer, request)
        interval = query["interval"]
        end: datetime = query.get("end") or timezone.now()
        start: datetime | None = query.get("start")
        if start is None:
            try:
                start = end - INTERVALS[interval] * DEFAULT_BARS
            except OverflowError:  # an `end` in year 1
                start = datetime.min.replace(tzinfo=end.tzinfo)
        bars = bars_aggregate(instrument=instrument, interval=interval, start=start, end=end)
        head = BarsSerializer({"symbol": instrument.symbol, "interval": interval, "start": start, "end": end})
        return Response({**head.data, "bars": [bar_data(bar) for bar in bars]})


class CalendarApi(APIView):
    @extend_schema(
        summary="Trading sessions of an instrument between two dates (inclusive)",
        description=f"Defaults: today to 30 days later. At most {CALENDAR_MAX_DAYS} days "
        "(422 `invalid_range` beyond and when end is before start; `calendar_out_of_range` outside "
        "the years the calendar covers).",
        parameters=[SYMBOL, CalendarQuerySerializer],
        responses={200: SessionSerializer(many=True), 422: RANGE_REFUSED},
        tags=["market"],
    )
    def get(self, request: Request, symbol: str) -> Response:
        instrument = instrument_get(symbol=symbol)
        query = _query(CalendarQuerySerializer, request)
        start: date = query.get("start") or timezone.now().date()
        end: date | None = query.get("end")
        if end is None:
            end = start + timedelta(days=30) if start < date.max - timedelta(days=30) else date.max
        if end < start:
            raise DomainError("end must not be before start", field="end", code="invalid_range")
        if (end - start).days >= CALENDAR_MAX_DAYS:
            raise DomainError(
                f"at most {CALENDAR_MAX_DAYS} days per request", field="end", code="invalid_range"
            )
        sessions = market_sessions(instrument=instrument, start=start, end=end)
        return Response(SessionSerializer(sessions, many=True).data)


class ClockApi(APIView):
    @extend_schema(
        summary="Market clock: for every active instrument, open now, next open and next close",
        responses=ClockResponseSerializer,
        tags=["market"],
    )
    def get(self, request: Request) -> Response:
        now = timezone.now()
        clocks = [market_clock(instrument=i, at=now) for i in instrument_list()]
        return Response(ClockResponseSerializer({"timestamp": now, "instruments": clocks}).data)
