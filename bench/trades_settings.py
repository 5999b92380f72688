"""Settings of the processes bench/trades.py starts: the test settings (no
throttles in the way) with a psycopg pool per process, as local and
production run, and a URLconf that adds the bare baseline endpoint."""

import os

from config.settings.test import *  # noqa: F403
from config.settings.test import DATABASES

DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": 8}}
ROOT_URLCONF = "bench.trades_urls"
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# A queue of the run's own: a worker of another stack on the same Redis
# never takes the bench's trades (their rows are in this run's database).
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("BENCH_QUEUE", "bench-trades")
