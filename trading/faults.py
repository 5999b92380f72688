"""Fault injection points for the fault and integration tests.

Off unless `settings.TRADING_FAULT_INJECTION` is true (never in production
settings). A test arms a point in the shared cache, so it reaches a worker
in another process too:

- `fault_arm(point, raise_times=n)`: the next n passes through `point`
  raise `django.db.OperationalError` (a transient database error);
- `fault_arm(point, sleep_seconds=s)`: every pass sleeps s seconds there
  (e.g. inside `trade_open`'s transaction, for a SIGKILL test);
  `sleep_times=n`: only the next n passes sleep (with two workers, one is
  held there and the other carries on).

`fault_hit_pid(point)` is the process that last slept there (which worker
to kill).

Every counter is created by `fault_arm` and only ever incremented or
decremented afterwards, so a pass that read the armed state just before
`fault_disarm` finds its counter gone and does nothing: it neither counts
as a hit nor sleeps after the test has moved on.
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError

_RAISE = "fault:{point}:raise"
_SLEEP = "fault:{point}:sleep"
_HIT = "fault:{point}:hit"
_SLEEPS_LEFT = "fault:{point}:sleeps"
_PID = "fault:{point}:pid"
_EVERY_PASS = 2**62  # `sleep_times=None`: a count that never runs out


def fault_arm(
    point: str, *, raise_times: int = 0, sleep_seconds: float = 0, sleep_times: int | None = None
) -> None:
    cache.set(_HIT.format(point=point), 0, timeout=3600)
    sleeps = _EVERY_PASS if sleep_times is None else sleep_times
    cache.set(_SLEEPS_LEFT.format(point=point), sleeps, timeout=3600)
    cache.set(_RAISE.format(point=point), raise_times, timeout=3600)
    cache.set(_SLEEP.format(point=point), sleep_seconds, timeout=3600)


def fault_disarm(point: str) -> None:
    cache.delete_many([key.format(point=point) for key in (_RAISE, _SLEEP, _HIT, _SLEEPS_LEFT, _PID)])


def fault_hit_pid(point: str) -> int | None:
    """The process that last slept at `point`."""
    value = cache.get(_PID.format(point=point))
    return int(value) if value is not None else None


def _sleep_due(point: str) -> bool:
    """Only the armed number of passes sleep (an atomic count)."""
    try:
        return int(cache.decr(_SLEEPS_LEFT.format(point=point))) >= 0
    except ValueError:  # disarmed since this pass read the armed state
        return False


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
    try:
        cache.incr(_HIT.format(point=point))
    except ValueError:  # disarmed since this pass read the armed state
        return
    if sleep_seconds and _sleep_due(point):
        cache.set(_PID.format(point=point), os.getpid(), timeout=3600)
        time.sleep(float(sleep_seconds))
    key = _RAISE.format(point=point)
    if raise_times:
        try:
            remaining = cache.decr(key)
        except ValueError:  # expired or disarmed between the two calls
            return
        if remaining >= 0:
            raise OperationalError(f"injected fault at {point}")
