"""Admin for trades: read-only; money moves only through services."""

from django.contrib import admin

from trading.trades.models import Trade


@admin.register(Trade)
class TradeAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "instrument", "side", "status", "stake", "pnl", "fee", "created_at")
    list_filter = ("status", "side", "source", "instrument")
    search_fields = ("id", "user__username", "idempotency_key", "task_id")
    readonly_fields = [f.name for f in Trade._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
