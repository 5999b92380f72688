"""The Celery application. Reads every `CELERY_*` Django setting, so the
broker, retries and the beat schedule live in `config/settings/base.py`."""

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tradevision")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.setup_logging.connect
def logging_from_django(**kwargs: Any) -> None:
    """Workers and beat log through Django's `LOGGING` (JSON in production).

    Without a receiver of this signal, `celery worker` empties the root
    logger's handlers (`worker_hijack_root_logger`) and installs its own
    plain-text one, dropping the JSON formatter and the task-id filter. With
    one, Celery leaves logging to it. `--loglevel` is then ignored: LOG_LEVEL
    decides, as in the web process."""
    from django.conf import settings
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)


@signals.task_prerun.connect
@signals.task_postrun.connect
def connections_back_to_pool(task: Any = None, **kwargs: Any) -> None:
    """Before and after each task, what Django does before and after each
    request: a connection that met an error or outlived CONN_MAX_AGE (0: all
    of them) is closed, which with a pool returns it there for the next task.

    Celery's own closing (its Django fixup) runs only every
    CELERY_DB_REUSE_MAX tasks (config/settings/base.py). An eager task runs
    inside its caller's transaction, which must stay open."""
    if task is None or getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
