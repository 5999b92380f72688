"""API routes of the trading app, mounted under /api/v1/."""

from django.urls import URLPattern, URLResolver, path

from trading.api import market

urlpatterns: list[URLPattern | URLResolver] = [
    # --- market data (docs/market-data.md) ---
    path("instruments/", market.InstrumentListView.as_view(), name="instrument-list"),
    path("instruments/<str:symbol>/", market.InstrumentDetailView.as_view(), name="instrument-detail"),
    path("instruments/<str:symbol>/bars/", market.BarsView.as_view(), name="instrument-bars"),
    path("instruments/<str:symbol>/calendar/", market.CalendarView.as_view(), name="instrument-calendar"),
    path("clock/", market.ClockView.as_view(), name="market-clock"),
    # --- end of market data ---
]
