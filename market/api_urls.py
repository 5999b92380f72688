"""API routes of the market app, mounted under /api/v1/ (docs/market-data.md)."""

from django.urls import URLPattern, URLResolver, path

from core import converters
from market import api

converters.register()

urlpatterns: list[URLPattern | URLResolver] = [
    path("instruments/", api.InstrumentListApi.as_view(), name="instrument-list"),
    path("instruments/<symbol:symbol>/", api.InstrumentDetailApi.as_view(), name="instrument-detail"),
    path("instruments/<symbol:symbol>/bars/", api.BarsApi.as_view(), name="instrument-bars"),
    path("instruments/<symbol:symbol>/calendar/", api.CalendarApi.as_view(), name="instrument-calendar"),
    path("clock/", api.ClockApi.as_view(), name="market-clock"),
]
