"""Fault injection points for the fault and integration tests.

Off unless `settings.TRADING_FAULT_INJECTION` is true (never in production
settings). A test arms a point in the shared cache, so it reaches a worker
in another process too:

- `fault_arm(point, raise_times=n)`: the next n passes through `point`
  raise `django.db.OperationalError` (a transient database error);
- `fault_arm(point, sleep_seconds=s)`: every pass sleeps s seconds there
  (e.g. inside `trade_open`'s transaction, for a SIGKILL test).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError

_RAISE = "fault:{point}:raise"
_SLEEP = "fault:{point}:sleep"
_HIT = "fault:{point}:hit"


def fault_arm(point: str, *, raise_times: int = 0, sleep_seconds: float = 0) -> None:
    cache.set(_RAISE.format(point=point), raise_times, timeout=3600)
    cache.set(_SLEEP.format(point=point), sleep_seconds, timeout=3600)


def fault_disarm(point: str) -> None:
    cache.delete_many([_RAISE.format(point=point), _SLEEP.format(point=point), _HIT.format(point=point)])


def fault_hits(point: str) -> int:
    """How many times an armed `point` was reached (for tests to wait on)."""
    return int(cache.get(_HIT.format(point=point)) or 0)


def fault_point(point: str) -> None:
    if not settings.TRADING_FAULT_INJECTION:
        return
    sleep_seconds = cache.get(_SLEEP.format(point=point))
    raise_times = cache.get(_RAISE.format(point=point))
    if sleep_seconds is None and raise_times is None:
        return
    cache.set(_HIT.format(point=point), fault_hits(point) + 1, timeout=3600)
    if sleep_seconds:
        time.sleep(float(sleep_seconds))
    key = _RAISE.format(point=point)
    if raise_times:
        try:
            remaining = cache.decr(key)
        except ValueError:  # expired or disarmed between the two calls
            return
        if remaining >= 0:
            raise OperationalError(f"injected fault at {point}")
