"""The feed is stopped the way a supervisor stops it (SIGTERM) and started
again a few seconds later.

Documented outcome (docs/market-data.md, Restarts): a graceful stop writes
everything the feed saw, up to the signal, so the only hole in the 1-second
tick record is the time no feed ran, from the signal to the new process's
first step; the 1-minute bar of the restart minute is one row that both runs
merged into.
"""

import threading
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest
from django.utils import timezone

from market.models import Bar, PriceTick
from tests.factories import InstrumentFactory
from tests.faults.processes import stop, wait_for
from tests.trading.feed_process import feed_env, feed_start

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

SYMBOL = "BTC-USD"
DOWNTIME_SECONDS = 3.0
# Scheduling slack on each side of the hole: the last step before the signal
# and the first step after the start line may each be up to this far away.
ALLOWANCE = timedelta(seconds=1)


def _pause(seconds: float) -> None:
    threading.Event().wait(seconds)


def _ticks() -> list[tuple[datetime, Decimal]]:
    return list(PriceTick.objects.filter(instrument__symbol=SYMBOL).order_by("at").values_list("at", "price"))


def _started(log: Path) -> datetime:
    wait_for(
        lambda: "feed started" in log.read_text(), timeout=60, what="the feed to start\n" + log.read_text()
    )
    return timezone.now()


def test_restart_leaves_a_hole_no_longer_than_the_restart_and_bars_merge(tmp_path):
    InstrumentFactory(symbol=SYMBOL)  # the seed may have been flushed by another transactional test
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    feed = feed_start("--symbols", SYMBOL, "--seconds", "120", log=first_log)
    try:
        _started(first_log)
        wait_for(lambda: len(_ticks()) >= 2, timeout=60, what="the first ticks")
        # Restart early in a minute so both runs write into the same minute
        # bar, leaving the new process 25 s to start.
        if timezone.now().second > 35:
            _pause(61 - timezone.now().second)
        signalled = timezone.now()
        assert stop(feed) == 0, first_log.read_text()
        exited = timezone.now()
        _pause(DOWNTIME_SECONDS)
        feed = feed_start("--symbols", SYMBOL, "--seconds", "120", log=second_log)
        restarted = _started(second_log)
        wait_for(
            lambda: PriceTick.objects.filter(
                instrument__symbol=SYMBOL, at__gt=restarted + ALLOWANCE
            ).exists(),
            timeout=30,
            what="ticks of the second run",
        )
    finally:
        assert stop(feed) == 0, second_log.read_text()

    assert "feed stopped after" in first_log.read_text()
    ticks = _ticks()
    gaps = [(b[0] - a[0], a[0], b[0]) for a, b in pairwise(ticks)]
    gap, last_before, first_after = max(gaps)
    # The largest hole is the restart, and it lies inside [signal, first step of the new run].
    assert signalled - ALLOWANCE <= last_before <= exited
    assert signalled + timedelta(seconds=DOWNTIME_SECONDS) <= first_after <= restarted + ALLOWANCE
    assert gap <= (restarted - signalled) + ALLOWANCE

    # One bar row per minute; the restart minute holds ticks of both runs.
    minute = last_before.replace(second=0, microsecond=0)
    assert first_after.replace(second=0, microsecond=0) == minute
    bars = {b.start: b for b in Bar.objects.filter(instrument__symbol=SYMBOL)}
    assert Bar.objects.filter(instrument__symbol=SYMBOL).count() == len(bars)
    assert minute in bars
    # Each bar is consistent with the 1-second ticks of its minute: every tick
    # lies within high/low, and the close is the last tick's price.
    by_minute: dict[datetime, list[Decimal]] = {}
    for at, price in ticks:
        by_minute.setdefault(at.replace(second=0, microsecond=0), []).append(price)
    assert set(by_minute) == set(bars)
    for start, prices in by_minute.items():
        bar = bars[start]
        assert bar.low <= min(prices) and max(prices) <= bar.high, start
        assert bar.close == prices[-1], start


def test_sigkill_loses_at_most_the_flush_interval_and_the_current_second(tmp_path):
    InstrumentFactory(symbol=SYMBOL)
    log = tmp_path / "feed.log"
    feed = feed_start("--symbols", SYMBOL, "--seconds", "120", log=log)
    try:
        wait_for(lambda: len(_ticks()) >= 3, timeout=60, what="the first ticks")
        killed = timezone.now()
        feed.kill()  # no final flush: what was pending in memory is gone
    finally:
        feed.wait()
    assert "feed stopped" not in log.read_text()
    last = _ticks()[-1][0]
    # Flushes run every FEED_FLUSH_INTERVAL and hold back the second still running.
    lost_at_most = timedelta(seconds=float(feed_env()["FEED_FLUSH_INTERVAL"]) + 1) + ALLOWANCE
    assert killed - lost_at_most <= last <= killed
