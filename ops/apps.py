from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Celery signals fire in whichever process runs the task (the worker);
        # connecting here means every process that loads Django records runs.
        from ops import wsmetrics
        from ops.processes import worker_signals_connect
        from ops.taskruns import task_signals_connect
        from realtime.lifecycle import on_web_draining, on_web_started, on_web_stopped

        task_signals_connect()
        # Heartbeats: a worker's from Celery's signals, a web process's from
        # the server's life (realtime.lifecycle; called only in a server).
        worker_signals_connect()
        on_web_started(wsmetrics.web_started)
        on_web_draining(wsmetrics.web_draining)
        on_web_stopped(wsmetrics.web_stopped)
