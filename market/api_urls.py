"""API routes of the market app, mounted under /api/v1/ (docs/market-data.md)."""

from django.urls import URLPattern, URLResolver, path

from market import api

urlpatterns: list[URLPattern | URLResolver] = [
    path("instruments/", api.InstrumentListApi.as_view(), name="instrument-list"),
    path("instruments/<str:symbol>/", api.InstrumentDetailApi.as_view(), name="instrument-detail"),
    path("instruments/<str:symbol>/bars/", api.BarsApi.as_view(), name="instrument-bars"),
    path("instruments/<str:symbol>/calendar/", api.CalendarApi.as_view(), name="instrument-calendar"),
    path("clock/", api.ClockApi.as_view(), name="market-clock"),
]
