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

        # Settlement at the instant (trading/trades/schedule.py): opened trades
        # get their expiry task and price watches after commit; the feed tells
        # us when a tick crosses a watched level.
        from market.watches import register_crossing_listener
        from realtime.listeners import listener_register
        from trading.trades.schedule import levels_crossed_enqueue, trade_events_committed

        listener_register(trade_events_committed)
        register_crossing_listener(levels_crossed_enqueue)
