from django.apps import AppConfig


class WalletsConfig(AppConfig):
    name = "wallets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from realtime.schemas import WALLET_BALANCE, register
        from wallets.events import WalletBalanceEventSerializer

        register(WALLET_BALANCE, WalletBalanceEventSerializer)
