from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery signals fire in whichever process runs the task (the worker);
        # connecting here means every process that loads Django records runs.
        from ops.taskruns import task_signals_connect

        task_signals_connect()
