"""API routes of the trading app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from trading.api import market, plans, trades

urlpatterns: list[URLPattern | URLResolver] = [
    # --- market data (docs/market-data.md) ---
    path("instruments/", market.InstrumentListView.as_view(), name="instrument-list"),
    path("instruments/<str:symbol>/", market.InstrumentDetailView.as_view(), name="instrument-detail"),
    path("instruments/<str:symbol>/bars/", market.BarsView.as_view(), name="instrument-bars"),
    path("instruments/<str:symbol>/calendar/", market.CalendarView.as_view(), name="instrument-calendar"),
    path("clock/", market.ClockView.as_view(), name="market-clock"),
    # --- end of market data ---
    # --- trades and plans (docs/trading.md) ---
    path("trades/", trades.TradeListCreateApi.as_view(), name="trade-api-list"),
    path("trades/batch/", trades.TradeBatchApi.as_view(), name="trade-api-batch"),
    path("trades/<int:pk>/", trades.TradeDetailApi.as_view(), name="trade-api-detail"),
    path("trades/<int:pk>/close/", trades.TradeCloseApi.as_view(), name="trade-api-close"),
    path("trades/<int:pk>/cancel/", trades.TradeCancelApi.as_view(), name="trade-api-cancel"),
    path("plans/", plans.PlanListCreateApi.as_view(), name="plan-api-list"),
    path("plans/<int:pk>/", plans.PlanDetailApi.as_view(), name="plan-api-detail"),
    path("plans/<int:pk>/cancel/", plans.PlanCancelApi.as_view(), name="plan-api-cancel"),
]
