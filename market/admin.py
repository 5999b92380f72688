"""Admin for market data: instruments are editable reference data (their feed
parameters are checked by building the source, so a typo is a form error, not
a feed that refuses to start; scales and fee in plain digits); bars are
history written by the feed and read-only here."""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest

from core.forms import StrictFormMixin
from market.feed.sources import SourceConfigError, source_build
from market.models import Bar, Instrument


class InstrumentAdminForm(StrictFormMixin, forms.ModelForm):
    """Integers in plain digits and text without control characters, as on
    every page form (`core.forms`)."""

    class Meta:
        model = Instrument
        fields = [
            "symbol",
            "name",
            "asset_class",
            "quote_currency",
            "price_scale",
            "quantity_scale",
            "fee_bps",
            "min_stake",
            "max_stake",
            "max_trade_duration",
            "active",
            "calendar",
            "feed_source",
            "feed_params",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        params = data.get("feed_params")
        if not isinstance(params, dict):
            self.add_error("feed_params", "must be a JSON object")
            return data
        try:
            source_build(
                kind=data["feed_source"],
                symbol=data["symbol"],
                price_scale=data["price_scale"],
                params=params,
                seed=settings.FEED_SEED,
            )
        except SourceConfigError as exc:
            self.add_error("feed_params", str(exc))
        return data


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    form = InstrumentAdminForm
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
