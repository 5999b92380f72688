from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "market"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # realtime learns which ticker symbols exist from us, never by importing market.
        from django.db.models.signals import post_delete, post_save

        from market.models import Instrument
        from market.selectors.instruments import active_instruments, instrument_symbol_is_active
        from realtime.registry import register_symbol_lookup

        register_symbol_lookup(instrument_symbol_is_active)
        for signal in (post_save, post_delete):
            signal.connect(active_instruments.reset, sender=Instrument, dispatch_uid=f"instruments-{signal}")
