"""Strategy rules of auto-trading plans. Pure and deterministic over bar closes.

Each strategy looks at the closes of the most recent 1-minute bars (oldest
first) and answers `buy`, `sell` or None (no trade this hour). The same closes
always give the same answer; nothing here reads a clock, a random source or
the database. The hourly task (`trading.tasks.auto_initiate_daily_trades`)
loads the closes and opens at most one trade per plan when the answer is not
None.

- `momentum`: compare the last close with the close `lookback` bars earlier.
  A rise of more than `threshold_bps` basis points says buy (the trend goes
  on), a fall of more than that says sell; anything smaller, no trade.
- `mean_reversion`: the z-score of the last close against the mean and the
  population standard deviation of the last `window` closes. Below `-k` says
  buy (the price is low and should come back), above `+k` says sell. A flat
  window (deviation zero) gives no trade.
- `dca` (dollar-cost averaging): buy every time it is asked, whatever the
  price; it needs only one close, to know the market has a price at all.

With fewer closes than a rule needs, every strategy answers None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from trading.pnl import Side

MOMENTUM_LOOKBACK = 60
MOMENTUM_THRESHOLD_BPS = 20
MEAN_REVERSION_WINDOW = 60
MEAN_REVERSION_K = Decimal(2)

# How many closes the task loads: enough for the longest rule.
BARS_NEEDED = max(MOMENTUM_LOOKBACK + 1, MEAN_REVERSION_WINDOW)


def momentum(
    closes: Sequence[Decimal],
    *,
    lookback: int = MOMENTUM_LOOKBACK,
    threshold_bps: int = MOMENTUM_THRESHOLD_BPS,
) -> Side | None:
    if len(closes) < lookback + 1:
        return None
    before, last = closes[-lookback - 1], closes[-1]
    if before <= 0:
        return None
    change_bps = (last - before) / before * Decimal(10_000)
    if change_bps > threshold_bps:
        return Side.BUY
    if change_bps < -threshold_bps:
        return Side.SELL
    return None


def mean_reversion(
    closes: Sequence[Decimal],
    *,
    window: int = MEAN_REVERSION_WINDOW,
    k: Decimal = MEAN_REVERSION_K,
) -> Side | None:
    if len(closes) < window:
        return None
    recent = closes[-window:]
    mean = sum(recent, Decimal(0)) / window
    variance = sum(((c - mean) ** 2 for c in recent), Decimal(0)) / window
    if variance == 0:
        return None
    z = (recent[-1] - mean) / variance.sqrt()
    if z < -k:
        return Side.BUY
    if z > k:
        return Side.SELL
    return None


def dca(closes: Sequence[Decimal]) -> Side | None:
    return Side.BUY if closes else None


STRATEGIES: dict[str, Callable[[Sequence[Decimal]], Side | None]] = {
    "momentum": momentum,
    "mean_reversion": mean_reversion,
    "dca": dca,
}


def strategy_signal(name: str, closes: Sequence[Decimal]) -> Side | None:
    """The decision of strategy `name` over `closes`; KeyError for an unknown name."""
    return STRATEGIES[name](closes)
