from django.apps import AppConfig


class PushConfig(AppConfig):
    name = "push"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # realtime calls us after each commit that published events; it never
        # imports push (import-linter holds that).
        from push.services import events_committed
        from realtime.listeners import listener_register

        listener_register(events_committed)
