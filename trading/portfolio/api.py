"""Portfolio API under /api/v1/portfolio/ (docs/trading.md, "Portfolio").

- `GET portfolio/`: the caller's equity, balances, unrealised and realised
  P&L and fees, now.
- `GET portfolio/equity/?days=N`: the caller's daily equity snapshots.

Only ever the caller's own figures (no staff `?user=`): the selectors are
given the request's user. Reads, so the default user/anon throttles apply.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.http import request_user
from trading.portfolio.selectors import equity_series, portfolio_of, utc_day_start
from trading.portfolio.serializers import (
    DEFAULT_CURRENCY,
    EquityQuerySerializer,
    EquitySeriesSerializer,
    PortfolioQuerySerializer,
    PortfolioSerializer,
)


class PortfolioApi(APIView):
    """The caller's portfolio now: equity, available, reserved, unrealised and
    realised P&L (today, all time), fees paid, open trades."""

    @extend_schema(parameters=[PortfolioQuerySerializer], responses={200: PortfolioSerializer})
    def get(self, request: Request) -> Response:
        query = PortfolioQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        portfolio = portfolio_of(user_id=request_user(request).pk, currency=query.validated_data["currency"])
        return Response(PortfolioSerializer(portfolio).data)


class EquityCurveApi(APIView):
    """The caller's equity curve: one point per UTC day that has a snapshot
    (taken hourly, the day's last one kept), oldest first, for the last
    `days` days including today."""

    @extend_schema(parameters=[EquityQuerySerializer], responses={200: EquitySeriesSerializer})
    def get(self, request: Request) -> Response:
        query = EquityQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        days: int = query.validated_data["days"]
        today = utc_day_start(timezone.now()).date()
        points = list(equity_series(user_id=request_user(request).pk, days=days, today=today))
        currency = points[-1].currency if points else DEFAULT_CURRENCY
        return Response(EquitySeriesSerializer({"currency": currency, "days": days, "points": points}).data)
