"""Page routes of the trading app (and the seed's session status endpoint)."""

from django.urls import URLPattern, URLResolver, path

from trading.trades import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("trade/new/", views.InitiateTradeView.as_view(), name="initiate-trade"),
    path("trade-status/", views.TradeInitiationStatusView.as_view(), name="trade-status"),
    path("api/check-trade-status/", views.check_trade_initiation_status, name="check-trade-status"),
]
