from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # realtime learns which ticker symbols exist from us, never by importing market.
        from market.selectors.instruments import instrument_symbol_is_active
        from realtime.registry import register_symbol_lookup

        register_symbol_lookup(instrument_symbol_is_active)
