"""API routes of the trading app, mounted under /api/v1/ (docs/trading.md)."""

from django.urls import URLPattern, URLResolver, path

from trading.plans import api as plans
from trading.trades import api as trades

urlpatterns: list[URLPattern | URLResolver] = [
    path("trades/", trades.TradeListCreateApi.as_view(), name="trade-api-list"),
    path("trades/batch/", trades.TradeBatchApi.as_view(), name="trade-api-batch"),
    path("trades/<int:pk>/", trades.TradeDetailApi.as_view(), name="trade-api-detail"),
    path("trades/<int:pk>/close/", trades.TradeCloseApi.as_view(), name="trade-api-close"),
    path("trades/<int:pk>/cancel/", trades.TradeCancelApi.as_view(), name="trade-api-cancel"),
    path("plans/", plans.PlanListCreateApi.as_view(), name="plan-api-list"),
    path("plans/<int:pk>/", plans.PlanDetailApi.as_view(), name="plan-api-detail"),
    path("plans/<int:pk>/cancel/", plans.PlanCancelApi.as_view(), name="plan-api-cancel"),
]
