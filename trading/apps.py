from django.apps import AppConfig


class TradingConfig(AppConfig):
    name = "trading"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # realtime learns which ticker symbols exist from us, never by importing trading.
        from realtime.registry import register_symbol_lookup
        from trading.selectors.instruments import instrument_symbol_is_active

        register_symbol_lookup(instrument_symbol_is_active)
