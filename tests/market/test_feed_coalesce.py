"""The coalescer lets at most max_rate ticks per second per symbol out, always the latest."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from market.feed.backoff import Backoff
from market.feed.coalesce import Coalescer

T0 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_at_most_max_rate_per_symbol_and_the_latest_price_wins():
    coalescer = Coalescer(max_rate=4)
    sent = []
    # 10 offers per second per symbol for 3 seconds, on a fake monotonic clock.
    for n in range(30):
        now = n / 10
        for symbol in ("BTC-USD", "ETH-USD"):
            coalescer.offer(symbol=symbol, price=Decimal(n), at=T0 + timedelta(seconds=now))
        sent += [(now, t) for t in coalescer.due(now)]
    for symbol in ("BTC-USD", "ETH-USD"):
        times = [now for now, t in sent if t.symbol == symbol]
        assert all(b - a >= 0.25 - 1e-9 for a, b in itertools.pairwise(times))
        assert len(times) == 10  # every 0.3 s on a 0.1 s step: 0.0, 0.3, ... 2.7
        # Each published price is the newest offered at that moment.
        assert all(t.price == Decimal(round(now * 10)) for now, t in sent if t.symbol == symbol)


def test_a_pending_price_goes_out_once_the_interval_passed():
    coalescer = Coalescer(max_rate=2)
    coalescer.offer(symbol="X", price=Decimal(1), at=T0)
    assert [t.price for t in coalescer.due(0.0)] == [Decimal(1)]
    coalescer.offer(symbol="X", price=Decimal(2), at=T0)
    assert coalescer.due(0.1) == []
    assert [t.price for t in coalescer.due(0.5)] == [Decimal(2)]
    assert coalescer.due(5.0) == []  # nothing new, nothing sent


def test_rate_must_be_positive():
    with pytest.raises(ValueError):
        Coalescer(max_rate=0)


def test_backoff_doubles_up_to_the_cap_and_resets():
    backoff = Backoff(base=1.0, cap=8.0)
    delays = [backoff.failed(0.0) for _ in range(6)]
    # Jitter keeps each delay in [half, full] of 1, 2, 4, 8, 8, 8.
    for delay, full in zip(delays, [1, 2, 4, 8, 8, 8], strict=True):
        assert full / 2 <= delay <= full
    assert backoff.down and not backoff.ready(backoff.retry_at - 0.01) and backoff.ready(backoff.retry_at)
    backoff.succeeded()
    assert not backoff.down and backoff.ready(0.0)
