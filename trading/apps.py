from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every trade.* event carries the full trade; plan.* the full plan.
        from realtime import schemas
        from trading.plans.serializers import PlanSerializer
        from trading.trades.serializers import TradeEventData

        for event in (
            schemas.TRADE_QUEUED,
            schemas.TRADE_OPENED,
            schemas.TRADE_RETRYING,
            schemas.TRADE_REJECTED,
            schemas.TRADE_FAILED,
            schemas.TRADE_CANCELLED,
            schemas.TRADE_SETTLED,
        ):
            schemas.register(event, TradeEventData)
        schemas.register(schemas.PLAN_STARTED, PlanSerializer)
        schemas.register(schemas.PLAN_MATURED, PlanSerializer)
