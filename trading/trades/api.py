"""Trades API under /api/v1/trades/ (docs/trading.md).

- `GET trades/`: the caller's trades (staff: everyone's, `?user=` to pick
  one), filtered by `status`, `instrument`, `side`,
  `created_after`/`created_before` (dates), sorted by `ordering` (newest
  first by default), cursor-paginated, with the `count` of matches.
- `POST trades/`: request a trade. Answers 202 with the trade, a `Location`
  and its `status_url`; honours the `Idempotency-Key` header (the same key
  and parameters give the same trade and answer, other parameters a 422).
- `GET trades/{id}/`, `POST trades/{id}/close/`, `POST trades/{id}/cancel/`.
- `POST trades/batch/`: up to 20 requests, all or nothing.
- `POST trades/quote/`: what a request would hold, buy and cost now; writes nothing.

Views only parse input, call one service or selector and shape the answer;
another user's trade is a 404.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import django_filters
from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.filters import IdFilter, StrictDateFilter, SymbolFilter
from core.http import request_user
from core.idempotency import (
    IDEMPOTENCY_PARAMETER,
    KEY_MAX_LENGTH,
    idempotency_parameter,
    request_input,
    request_key,
)
from core.pagination import BoundedCursorPagination
from core.parsers import BROWSABLE_FORM_PARSERS
from core.serializers import without_body
from core.throttling import WRITE_THROTTLES
from trading.trades.models import Trade, TradeSide, TradeSource, TradeStatus
from trading.trades.quotes import trade_quote
from trading.trades.selectors import trade_list
from trading.trades.serializers import (
    TRADE_FIELDS,
    TradeBatchSerializer,
    TradeQuoteSerializer,
    TradeRequestSerializer,
    TradeSerializer,
    trade_data,
)
from trading.trades.services import (
    BatchItemRefusal,
    BatchRefused,
    trade_cancel,
    trade_close,
    trade_request,
    trade_request_batch,
)


class TradeCursorPagination(BoundedCursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 50
    max_page_size = 200


# The list's sort orders: each ends with the id, so equal values keep one
# order across pages (the cursor's position is the first field).
TRADE_ORDERINGS: dict[str, tuple[str, ...]] = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "-stake": ("-stake", "-id"),
    "stake": ("stake", "id"),
}


class TradeListPagination(TradeCursorPagination):
    """The trade list's pages, in the `ordering` the filter validated, with the
    `count` of every trade the filters match (one COUNT on the user's rows)."""

    def get_ordering(self, request: Request, queryset: QuerySet[Any], view: Any) -> tuple[str, ...]:
        return TRADE_ORDERINGS.get(request.query_params.get("ordering") or "", self.ordering)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self.count = queryset.count()
        return super().paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data = {"count": self.count, **response.data}
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        answer = super().get_paginated_response_schema(schema)
        answer["properties"] = {
            "count": {"type": "integer", "description": "How many trades the filters match, on every page."},
            **answer["properties"],
        }
        answer["required"] = ["count", *answer.get("required", [])]
        return answer


class TradeFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TradeStatus.choices)
    instrument = SymbolFilter(field_name="instrument__symbol")
    side = django_filters.ChoiceFilter(choices=TradeSide.choices)
    # Validated here (a 400 naming it); applied by the pagination's order.
    ordering = django_filters.ChoiceFilter(
        choices=[(key, key) for key in TRADE_ORDERINGS],
        method="_no_filter",
        help_text="Sort order: newest first (`-created_at`, the default), oldest first, or by stake.",
    )
    created_after = StrictDateFilter(method="_created_from", help_text="First day, in `tz` (default UTC).")
    created_before = StrictDateFilter(method="_created_to", help_text="Last day, in `tz` (default UTC).")
    tz = django_filters.ChoiceFilter(
        choices=[(zone, zone) for zone in sorted(available_timezones())],
        method="_no_filter",
        help_text="The IANA time zone whose days `created_after` and `created_before` name "
        "(the browser sends its own: a trader's Dec 6 is their Dec 6). Default UTC.",
    )
    user = IdFilter(field_name="user_id", help_text="Staff only (ignored for others).")

    class Meta:
        model = Trade
        fields = ["status", "instrument", "side", "created_after", "created_before", "tz", "ordering", "user"]

    def _no_filter(self, queryset: QuerySet[Trade], name: str, value: str) -> QuerySet[Trade]:
        return queryset

    def _midnight(self, day: date) -> datetime | None:
        """The first instant of `day` in the chosen zone; None at the ends of
        the calendar (years 1 and 9999), where the zone's offset would leave it."""
        if not date(1, 1, 2) <= day <= date(9999, 12, 30):
            return None
        return datetime.combine(day, time.min, tzinfo=ZoneInfo(self.form.cleaned_data.get("tz") or "UTC"))

    def _created_from(self, queryset: QuerySet[Trade], name: str, day: date) -> QuerySet[Trade]:
        start = self._midnight(day)
        return (
            queryset.filter(created_at__date__gte=day)
            if start is None
            else queryset.filter(created_at__gte=start)
        )

    def _created_to(self, queryset: QuerySet[Trade], name: str, day: date) -> QuerySet[Trade]:
        end = self._midnight(day + timedelta(days=1)) if day < date.max else None
        return (
            queryset.filter(created_at__date__lte=day) if end is None else queryset.filter(created_at__lt=end)
        )


class TradeAcceptedSerializer(TradeSerializer):
    status_url = serializers.SerializerMethodField()

    class Meta(TradeSerializer.Meta):
        fields: tuple[str, ...] = (*TRADE_FIELDS, "status_url")
        read_only_fields: tuple[str, ...] = fields

    def get_status_url(self, trade: Trade) -> str:
        return reverse("trade-api-detail", args=[trade.pk])


def _owner_scope(request: Request) -> int | None:
    """Whose trades the caller may read: their own, or everyone's for staff."""
    user = request_user(request)
    return None if user.is_staff else user.pk


def _accepted_body(trade: Trade) -> dict[str, Any]:
    """`TradeAcceptedSerializer(trade).data`, built the way events build the
    trade (`trade_data`, held equal to the serializer by a test): building a
    ModelSerializer's fields cost a fifth of a POST (bench/post_profile.py)."""
    return {**trade_data(trade), "status_url": reverse("trade-api-detail", args=[trade.pk])}


def _accepted(trade: Trade) -> Response:
    body = _accepted_body(trade)
    return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


def _request_from(data: Any, *, user: Any, idempotency_key: str, source: str) -> Trade:
    serializer = TradeRequestSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    result = trade_request(
        user=user, idempotency_key=idempotency_key, source=source, **serializer.validated_data
    )
    return result.trade


class TradeListCreateApi(ListAPIView):
    serializer_class = TradeSerializer
    form_serializer_class = TradeRequestSerializer  # the browsable API's POST form
    parser_classes = BROWSABLE_FORM_PARSERS
    pagination_class = TradeListPagination
    filterset_class = TradeFilter
    throttle_classes = WRITE_THROTTLES
    throttle_scope = "trades"

    def get_queryset(self) -> QuerySet[Trade]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Trade.objects.none()
        qs = trade_list(user_id=_owner_scope(self.request))
        if not self.request.user.is_staff and "user" in self.request.query_params:
            # A user filter from a non-staff caller could only narrow to themself.
            return qs.filter(user_id=request_user(self.request).pk)
        return qs

    @extend_schema(
        request=TradeRequestSerializer,
        responses={202: TradeAcceptedSerializer},
        parameters=[IDEMPOTENCY_PARAMETER],
        examples=[
            OpenApiExample(
                "A one-hour buy",
                value={"instrument": "BTC-USD", "side": "buy", "stake": "100.00", "duration": 3600},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        key = request_key(request)
        trade = _request_from(
            request_input(request), user=request_user(request), idempotency_key=key, source=TradeSource.MANUAL
        )
        return _accepted(trade)


class TradeQuoteApi(APIView):
    """The quote of a trade request: the body of `POST trades/`, validated by
    the same serializer and service checks (the same 400 and 422), answered
    with what it would hold and cost at the current mark. A POST because the
    input is the request's JSON body, decimals as strings; it writes nothing,
    so it takes no Idempotency-Key."""

    form_serializer_class = TradeRequestSerializer
    parser_classes = BROWSABLE_FORM_PARSERS
    throttle_classes = WRITE_THROTTLES
    throttle_scope = "quotes"

    @extend_schema(
        request=TradeRequestSerializer,
        responses={200: TradeQuoteSerializer},
        examples=[
            OpenApiExample(
                "A one-hour buy with a take-profit",
                value={"instrument": "BTC-USD", "side": "buy", "stake": "100.00", "duration": 3600},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = TradeRequestSerializer(data=request_input(request))
        serializer.is_valid(raise_exception=True)
        quote = trade_quote(user=request_user(request), **serializer.validated_data)
        return Response(TradeQuoteSerializer(quote).data)


class TradeDetailApi(RetrieveAPIView):
    serializer_class = TradeSerializer

    def get_queryset(self) -> QuerySet[Trade]:
        if getattr(self, "swagger_fake_view", False):
            return Trade.objects.none()
        return trade_list(user_id=_owner_scope(self.request))


class TradeCloseApi(APIView):
    throttle_classes = WRITE_THROTTLES
    throttle_scope = "trades"

    @extend_schema(request=None, responses={200: TradeSerializer})
    @without_body
    def post(self, request: Request, pk: int) -> Response:
        return Response(TradeSerializer(trade_close(user=request_user(request), trade_id=pk)).data)


class TradeCancelApi(APIView):
    throttle_classes = WRITE_THROTTLES
    throttle_scope = "trades"

    @extend_schema(request=None, responses={200: TradeSerializer})
    @without_body
    def post(self, request: Request, pk: int) -> Response:
        return Response(TradeSerializer(trade_cancel(user=request_user(request), trade_id=pk)).data)


# Documentation only (the view builds the answer).
TRADE_BATCH_RESULT = inline_serializer(
    "TradeBatchResult",
    {
        "results": inline_serializer(
            "TradeBatchItemResult",
            {
                "index": serializers.IntegerField(),
                "status": serializers.IntegerField(),
                "trade": TradeAcceptedSerializer(),
            },
            many=True,
        )
    },
)
# Either the body's own errors (DRF's `{<field>: [...]}`) or the refusal of
# items: `{"code": "batch_refused", "detail", "items": [{index, status, errors}]}`.
TRADE_BATCH_REFUSED = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="Nothing was created. `batch_refused` with `items` (index, status, errors of each "
    "refused item), or the body's field errors.",
)


def _as_fields(errors: Any) -> dict[str, Any]:
    """An item's errors by field; an item that is not an object has no fields."""
    return dict(errors) if isinstance(errors, dict) else {"non_field_errors": errors}


def _batch_refused(exc: BatchRefused) -> Response:
    """400 when an item breaks the schema, else 422 (every item well formed,
    some refused by a rule: `core.errors`)."""
    items = [{"index": r.index, "status": r.status, "errors": r.errors} for r in exc.items]
    malformed = any(r.status == status.HTTP_400_BAD_REQUEST for r in exc.items)
    return Response(
        {"code": exc.code, "detail": exc.message, "items": items},
        status=status.HTTP_400_BAD_REQUEST if malformed else status.HTTP_422_UNPROCESSABLE_ENTITY,
    )


# Item keys are `<key>:<index>`: the batch's key leaves room for the suffix.
BATCH_KEY_SUFFIX = len(f":{settings.TRADE_BATCH_MAX_ITEMS - 1}")


class TradeBatchApi(APIView):
    """Up to 20 trade requests, all or nothing (docs/trading.md, "Batches").
    Item i uses the key `<Idempotency-Key>:<i>` (or its own
    `idempotency_key`), so a retried batch returns the same trades. One
    refused item refuses the batch: `batch_refused` listing each refused
    item (index, status, errors), 400 when an item is malformed, else 422,
    and no trade is created."""

    throttle_classes = WRITE_THROTTLES
    throttle_scope = "trades"
    form_serializer_class = TradeBatchSerializer  # the raw-data form only: an HTML form holds no list

    @extend_schema(
        request=TradeBatchSerializer,
        responses={200: TRADE_BATCH_RESULT, 400: TRADE_BATCH_REFUSED, 422: TRADE_BATCH_REFUSED},
        parameters=[idempotency_parameter(max_length=KEY_MAX_LENGTH - BATCH_KEY_SUFFIX)],
        examples=[
            OpenApiExample(
                "Two trades",
                value={
                    "trades": [
                        {"instrument": "BTC-USD", "side": "buy", "stake": "100.00"},
                        {"instrument": "ETH-USD", "side": "sell", "stake": "50.00", "duration": 600},
                    ]
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        base = request_key(request, suffix_length=BATCH_KEY_SUFFIX)
        batch = TradeBatchSerializer(data=request_input(request))
        if not batch.is_valid():
            per_item = batch.errors.get("trades")
            if isinstance(per_item, list) and all(isinstance(e, dict) for e in per_item):
                per_item = dict(enumerate(per_item))  # older DRF: one entry per item
            if isinstance(per_item, dict) and all(isinstance(k, int) for k in per_item):
                # Items' own field errors (DRF keys them by index): the same
                # answer as a service refusal.
                invalid = {"code": "invalid", "detail": "Invalid input."}
                refused = [
                    BatchItemRefusal(index=i, status=400, errors={**invalid, **_as_fields(e)})
                    for i, e in sorted(per_item.items())
                    if e
                ]
                return _batch_refused(BatchRefused(refused))
            raise serializers.ValidationError(batch.errors)
        items = [
            {**item, "idempotency_key": item.get("idempotency_key", f"{base}:{index}")}
            for index, item in enumerate(batch.validated_data["trades"])
        ]
        try:
            results = trade_request_batch(user=request_user(request), items=items, batch_key=base)
        except BatchRefused as exc:
            return _batch_refused(exc)
        body = [
            {"index": index, "status": 202, "trade": _accepted_body(result.trade)}
            for index, result in enumerate(results)
        ]
        return Response({"results": body}, status=status.HTTP_200_OK)
