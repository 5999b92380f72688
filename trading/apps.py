from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every trade.* event carries the full trade; plan.* the full plan.
        from trading.plans.events import plan_events_register
        from trading.trades.events import trade_events_register

        trade_events_register()
        plan_events_register()
