"""What every fault test checks at its end: the ledger invariants and, per
trade, that its money, its state and its events agree.

- ledger: every cached balance equals the sum of its entries, no user
  account below zero, all entries of a currency sum to zero
  (`tests.trading.trades_support.assert_ledger_invariants`);
- per trade: the stake it holds in `reserved` (entries referencing
  `trade:<id>`) is the stake while open and zero otherwise (never "open and
  failed"; plan trades are funded from their plan's reserve instead); each
  kind of ledger transaction at most once for it; it has exactly one `trade.opened` event if it
  ever opened and exactly one `trade.settled` event if it settled;
- no duplicate trade: one row per (user, idempotency key) and as many rows
  as the test requested.
"""

from collections import Counter
from decimal import Decimal

from django.db.models import Sum

from realtime.models import Event
from tests.trading.trades_support import assert_ledger_invariants
from trading.models import Trade, TradeStatus
from wallets.models import Entry, LedgerTransaction

__all__ = ["assert_ledger_invariants", "assert_trades_consistent", "event_counts"]


def event_counts(name: str) -> Counter[int]:
    """How many `name` events each trade id has."""
    rows = Event.objects.filter(event=name).values_list("data", flat=True)
    return Counter(int(data["id"]) for data in rows)


def assert_trades_consistent(*, expected_count: int | None = None) -> list[Trade]:
    trades = list(Trade.objects.order_by("pk"))
    if expected_count is not None:
        assert len(trades) == expected_count, f"{len(trades)} trades, expected {expected_count}"
    keys = Counter((t.user_id, t.idempotency_key) for t in trades)
    assert max(keys.values(), default=1) == 1, "a duplicate trade"
    opened = event_counts("trade.opened")
    settled = event_counts("trade.settled")
    for trade in trades:
        reference = f"trade:{trade.pk}"
        held = Entry.objects.filter(
            transaction__reference=reference, account__kind="reserved", account__owner__isnull=False
        ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        kinds = Counter(LedgerTransaction.objects.filter(reference=reference).values_list("kind", flat=True))
        assert max(kinds.values(), default=1) == 1, (trade.pk, kinds)
        ever_opened = trade.status in (TradeStatus.OPEN, TradeStatus.SETTLED)
        assert opened[trade.pk] == (1 if ever_opened else 0), (trade.pk, trade.status, opened[trade.pk])
        if trade.plan_id is None:
            # A plan trade is funded from its plan's reserve, not from available.
            assert held == (trade.stake if trade.status == TradeStatus.OPEN else 0), (trade.pk, held)
            assert kinds["reserve"] == (1 if ever_opened else 0), (trade.pk, trade.status, kinds)
        is_settled = trade.status == TradeStatus.SETTLED
        assert settled[trade.pk] == (1 if is_settled else 0), (trade.pk, settled[trade.pk])
        assert kinds["settle"] == (1 if is_settled else 0), (trade.pk, kinds)
    return trades
