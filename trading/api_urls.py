"""API routes of the trading app, mounted under /api/v1/ (docs/trading.md)."""

from django.urls import URLPattern, URLResolver, path

from core import converters
from trading.plans import api as plans
from trading.portfolio import api as portfolio
from trading.trades import api as trades

converters.register()

urlpatterns: list[URLPattern | URLResolver] = [
    path("trades/", trades.TradeListCreateApi.as_view(), name="trade-api-list"),
    path("trades/quote/", trades.TradeQuoteApi.as_view(), name="trade-api-quote"),
    path("trades/batch/", trades.TradeBatchApi.as_view(), name="trade-api-batch"),
    path("trades/<id:pk>/", trades.TradeDetailApi.as_view(), name="trade-api-detail"),
    path("trades/<id:pk>/close/", trades.TradeCloseApi.as_view(), name="trade-api-close"),
    path("trades/<id:pk>/cancel/", trades.TradeCancelApi.as_view(), name="trade-api-cancel"),
    path("plans/", plans.PlanListCreateApi.as_view(), name="plan-api-list"),
    path("plans/<id:pk>/", plans.PlanDetailApi.as_view(), name="plan-api-detail"),
    path("plans/<id:pk>/cancel/", plans.PlanCancelApi.as_view(), name="plan-api-cancel"),
    path("portfolio/", portfolio.PortfolioApi.as_view(), name="portfolio-api"),
    path("portfolio/equity/", portfolio.EquityCurveApi.as_view(), name="portfolio-api-equity"),
]
