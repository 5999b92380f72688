"""Test settings for beat schedulers with an accelerated schedule: every
periodic task of the design every few seconds, sent to the fault test's own
queue (`FAULT_QUEUE`). Used by tests/faults/test_two_beats.py only."""

import os
from datetime import timedelta

from config.settings.test import *  # noqa: F403

_OPTIONS = {"queue": os.environ.get("FAULT_QUEUE", "celery")}

CELERY_BEAT_SCHEDULE = {
    "process-completed-trades": {
        "task": "trading.tasks.process_completed_trades",
        "schedule": timedelta(seconds=2),
        "options": _OPTIONS,
    },
    "auto-initiate-daily-trades": {
        "task": "trading.tasks.auto_initiate_daily_trades",
        "schedule": timedelta(seconds=3),
        "options": _OPTIONS,
    },
    "update-wallet-balances": {
        "task": "wallets.tasks.update_wallet_balances",
        "schedule": timedelta(seconds=5),
        "options": _OPTIONS,
    },
    "check-investment-maturity": {
        "task": "trading.tasks.check_investment_maturity",
        "schedule": timedelta(seconds=7),
        "options": _OPTIONS,
    },
    "cleanup-failed-trades": {
        "task": "trading.tasks.cleanup_failed_trades",
        "schedule": timedelta(seconds=7),
        "options": _OPTIONS,
    },
}
