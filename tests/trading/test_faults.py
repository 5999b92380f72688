"""The fault points the process tests arm: a pass racing `fault_disarm` must
do nothing, or a test that disarmed a point would still see it counted and a
worker sleeping there long after."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import OperationalError

from trading import faults
from trading.faults import fault_arm, fault_disarm, fault_hit_pid, fault_hits, fault_point

POINT = "test.point"


@pytest.fixture(autouse=True)
def _injection_on(settings):
    settings.TRADING_FAULT_INJECTION = True
    fault_disarm(POINT)
    yield
    fault_disarm(POINT)


def test_an_armed_point_counts_each_pass_and_raises_the_armed_number_of_times():
    fault_arm(POINT, raise_times=2)
    for _ in range(2):
        with pytest.raises(OperationalError, match=r"injected fault at test\.point"):
            fault_point(POINT)
    fault_point(POINT)
    assert fault_hits(POINT) == 3


def test_only_the_armed_number_of_passes_sleep(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(faults.time, "sleep", slept.append)
    fault_arm(POINT, sleep_seconds=7, sleep_times=1)
    fault_point(POINT)
    fault_point(POINT)
    assert (slept, fault_hits(POINT)) == ([7.0], 2)
    assert fault_hit_pid(POINT) is not None


def test_a_pass_that_read_the_armed_state_before_disarm_neither_counts_nor_sleeps(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(faults.time, "sleep", slept.append)
    fault_arm(POINT, sleep_seconds=120)

    class DisarmedAfterTheRead:
        """The real cache, but the test disarms the point the moment the
        pass has read the whole armed state."""

        def __getattr__(self, name):
            return getattr(cache, name)

        def get(self, key, *args, **kwargs):
            value = cache.get(key, *args, **kwargs)
            if key.endswith(":raise"):
                fault_disarm(POINT)
            return value

    monkeypatch.setattr(faults, "cache", DisarmedAfterTheRead())
    fault_point(POINT)
    monkeypatch.undo()
    assert (slept, fault_hits(POINT), fault_hit_pid(POINT)) == ([], 0, None)


def test_a_disarmed_point_is_a_no_op():
    started = time.monotonic()
    fault_point(POINT)
    assert fault_hits(POINT) == 0
    assert time.monotonic() - started < 5  # it did not sleep (a bound, not a timing)
