"""API routes of the market app, mounted under /api/v1/ (docs/market-data.md)."""

from django.urls import URLPattern, URLResolver, path

from market import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("instruments/", api.InstrumentListView.as_view(), name="instrument-list"),
    path("instruments/<str:symbol>/", api.InstrumentDetailView.as_view(), name="instrument-detail"),
    path("instruments/<str:symbol>/bars/", api.BarsView.as_view(), name="instrument-bars"),
    path("instruments/<str:symbol>/calendar/", api.CalendarView.as_view(), name="instrument-calendar"),
    path("clock/", api.ClockView.as_view(), name="market-clock"),
]
