"""Admin for market data: instruments are editable reference data; bars and
ticks are history written by the feed and read-only here."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from trading.models import Bar, Instrument


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "asset_class", "calendar", "feed_source", "fee_bps", "active"]
    list_filter = ["asset_class", "calendar", "active", "feed_source"]
    search_fields = ["symbol", "name"]


@admin.register(Bar)
class BarAdmin(admin.ModelAdmin):
    list_display = ["instrument", "start", "open", "high", "low", "close", "volume"]
    list_filter = ["instrument"]
    list_select_related = ["instrument"]
    ordering = ["-start"]
    # An unbounded COUNT(*) over millions of bars makes the changelist slow.
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
