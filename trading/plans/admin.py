"""Admin for plans: read-only; money moves only through services."""

from django.contrib import admin

from trading.plans.models import Plan


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "instrument", "strategy", "status", "principal", "reserve", "ends_at")
    list_filter = ("status", "strategy", "instrument")
    search_fields = ("id", "user__username")
    readonly_fields = [f.name for f in Plan._meta.fields]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False
