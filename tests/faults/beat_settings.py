"""Test settings for beat schedulers (and their workers) with an accelerated
schedule: every entry of `config.settings.base.CELERY_BEAT_SCHEDULE`, each
every few seconds, sent to the fault test's own queue (`FAULT_QUEUE`), which
is also the workers' default queue so the tasks they send themselves (the
sweeper's re-enqueues) stay on it. Used by tests/faults/test_two_beats.py.

Acceleration: the per-minute and five-minute entries run 30x faster (a real
minute is 2 s), so a 60 s run is 30 minutes of their real schedule; the
hourly and daily ones every 3 to 7 s (an hour or a day in seconds), so they
too fire many times in one run.
"""

import os
from datetime import timedelta

from config.settings.test import *  # noqa: F403
from config.settings.test import CELERY_BEAT_SCHEDULE as _REAL

FAULT_QUEUE = os.environ.get("FAULT_QUEUE", "celery")
CELERY_TASK_DEFAULT_QUEUE = FAULT_QUEUE

_EVERY = {
    "process-completed-trades": 2,  # every minute
    "schedule-expiry-settlements": 2,  # every minute
    "sweep-queued-trades": 10,  # every 5 minutes
    "auto-initiate-daily-trades": 3,  # hourly
    "update-wallet-balances": 5,  # 06:00 and 18:00
    "check-investment-maturity": 7,  # daily
    "cleanup-failed-trades": 7,  # daily
    "snapshot-portfolios": 3,  # hourly
}
# A new entry in the real schedule must be given a pace here (KeyError otherwise).
CELERY_BEAT_SCHEDULE = {
    name: {
        "task": entry["task"],
        "schedule": timedelta(seconds=_EVERY[name]),
        "options": {"queue": FAULT_QUEUE},
    }
    for name, entry in _REAL.items()
}
