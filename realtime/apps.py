from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The one event realtime owns; trading and wallets register theirs.
        from realtime.schemas import NOTIFICATION, NotificationData, register

        register(NOTIFICATION, NotificationData)
