"""The Celery application. Reads every `CELERY_*` Django setting, so the
broker, retries and the beat schedule live in `config/settings/base.py`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("tradevision")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
