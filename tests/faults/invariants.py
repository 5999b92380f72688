"""What every fault test checks at its end: the ledger invariants and, per
trade, that its money, its state and its events agree.

- ledger: every cached balance equals the sum of its entries, no user
  account below zero, all entries of a currency sum to zero
  (`tests.trading.trades_support.assert_ledger_invariants`);
- per trade: what it holds in `reserved` (entries referencing `trade:<id>`)
  is stake + opening fee while queued, the stake while open and zero once
  final (never "open and failed"; plan trades are funded from their plan's
  reserve instead); its ledger transactions are exactly those its final
  state implies, each once (the hold at its request; the opening fee
  charged out of it on open, or the hold given back when it never opened;
  settle on settlement; a plan trade's reserve at open and its moves out of
  and back into its plan's reserve);
- the whole stored event stream (`assert_event_stream`): each user's seqs
  are 1..N without a gap or a repeat, N being the user's counter; each
  trade's events, in seq order, follow its life
  `queued retrying* (opened settled? | rejected | failed | cancelled)?`
  (a plan trade has no `trade.queued`: it is created and opened in one
  step), so never opened and then rejected or failed, and at most one
  terminal event; retry attempts strictly increase; every event's data
  carries the state it announces; and the last event says the trade's
  final state in the database (`failed` means a `trade.failed` and no
  `trade.opened`, `open` means one `trade.opened` and no terminal event);
- every user's stream read back through the resume path a polling or
  reconnecting client uses (`GET /api/v1/events/?since=`, paginated with a
  small page) gives each stored event exactly once, in order, equal to the
  stored row (`assert_events_resumable`);
- no duplicate trade: one row per (user, idempotency key) and as many rows
  as the test requested.

`assert_trades_consistent` runs all of these but the ledger check, which
each test calls too.
"""

import re
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Sum
from rest_framework.test import APIClient

from realtime.models import Event, EventCounter
from tests.trading.trades_support import assert_ledger_invariants
from trading.pnl import trade_fee
from trading.trades.models import Trade, TradeStatus
from wallets.models import Entry, LedgerTransaction
from wallets.money import currency_scale

__all__ = [
    "assert_event_stream",
    "assert_events_resumable",
    "assert_ledger_invariants",
    "assert_trades_consistent",
    "event_counts",
]

# Each trade event, the one-letter code of its life pattern and the status its data must carry.
_TRADE_EVENTS = {
    "trade.queued": ("q", TradeStatus.QUEUED),
    "trade.retrying": ("r", TradeStatus.QUEUED),
    "trade.opened": ("o", TradeStatus.OPEN),
    "trade.settled": ("s", TradeStatus.SETTLED),
    "trade.rejected": ("j", TradeStatus.REJECTED),
    "trade.failed": ("f", TradeStatus.FAILED),
    "trade.cancelled": ("c", TradeStatus.CANCELLED),
}
_LIFE = re.compile(r"q?r*(os?|j|f|c)?")
# The codes the last event of a trade in each final status may have.
_LAST = {
    TradeStatus.QUEUED: "qr",
    TradeStatus.OPEN: "o",
    TradeStatus.SETTLED: "s",
    TradeStatus.REJECTED: "j",
    TradeStatus.FAILED: "f",
    TradeStatus.CANCELLED: "c",
}
RESUME_PAGE = 7  # small, so every stream crosses page boundaries


def event_counts(name: str) -> Counter[int]:
    """How many `name` events each trade id has."""
    rows = Event.objects.filter(event=name).values_list("data", flat=True)
    return Counter(int(data["id"]) for data in rows)


def assert_event_stream(trades: list[Trade]) -> None:
    """The stored stream of every user, and each trade's life in it (module docstring)."""
    counters = dict(EventCounter.objects.values_list("user_id", "last_seq"))
    seqs: dict[int, list[int]] = defaultdict(list)
    lives: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for user_id, seq, name, data in Event.objects.order_by("user_id", "seq").values_list(
        "user_id", "seq", "event", "data"
    ):
        seqs[user_id].append(seq)
        if name in _TRADE_EVENTS:
            lives[int(data["id"])].append((name, data))
    for user_id in set(counters) | set(seqs):
        last = counters.get(user_id, 0)
        assert seqs[user_id] == list(range(1, last + 1)), (user_id, last, seqs[user_id])

    known = {t.pk: t for t in trades}
    assert set(lives) <= set(known), f"events of trades that do not exist: {set(lives) - set(known)}"
    for trade in trades:
        life = lives.get(trade.pk, [])
        codes = "".join(_TRADE_EVENTS[name][0] for name, _ in life)
        where = (trade.pk, trade.status, codes)
        assert _LIFE.fullmatch(codes), where
        assert codes.count("q") == (0 if trade.plan_id is not None else 1), where
        # Every trade has an event: its request (`trade.queued`) or a plan's open or refusal.
        assert codes and codes[-1] in _LAST[trade.status], where
        for name, data in life:
            assert data["status"] == _TRADE_EVENTS[name][1], (*where, name, data["status"])
        attempts = [data["attempts"] for name, data in life if name == "trade.retrying"]
        assert attempts == sorted(set(attempts)), (*where, attempts)
        if life:
            # The last event is the full current object: the final state, as stored.
            final = life[-1][1]
            assert (final["status"], final["attempts"]) == (trade.status, trade.attempts), (*where, final)


def assert_events_resumable() -> None:
    """Every user's events through `GET /api/v1/events/?since=`, page by page,
    as a client resuming from 0 gets them: each stored event once, in order."""
    client = APIClient()
    for user in get_user_model().objects.filter(pk__in=EventCounter.objects.values("user_id")):
        client.force_authenticate(user)
        stored = [(e.seq, e.event, e.data) for e in Event.objects.filter(user_id=user.pk).order_by("seq")]
        received: list[tuple[int, str, Any]] = []
        since, pages = 0, 0
        while True:
            response = client.get("/api/v1/events/", {"since": since, "limit": RESUME_PAGE})
            assert response.status_code == 200, (user.pk, since, response.content)
            body = response.json()
            received += [(f["seq"], f["event"], f["data"]) for f in body["events"]]
            since, pages = body["next_since"], pages + 1
            assert pages <= len(stored) // RESUME_PAGE + 1, "paging does not end"
            if not body["has_more"]:
                break
        assert body["last_seq"] == (stored[-1][0] if stored else 0), user.pk
        assert received == stored, user.pk
    client.force_authenticate(None)


def _postings(trade: Trade) -> list[tuple[str, str]]:
    """The ledger transactions a trade in its final state has made, each once:
    (kind, idempotency key). A requested trade holds stake + opening fee
    (`hold`); opening charges the fee out of the hold (`fee`, when there is
    one), a trade that never opens gets the hold back (`unhold`). A plan
    trade first takes its stake out of the plan's reserve (`plan-fund`),
    reserves it at open (`open`) and, when settled, puts what came back into
    its plan (`plan-return`, when anything came back)."""
    ref = f"trade:{trade.pk}"
    postings: list[tuple[str, str]] = []
    opened = trade.status in (TradeStatus.OPEN, TradeStatus.SETTLED)
    if trade.plan_id is None:
        postings.append(("reserve", f"{ref}:hold"))
        if not opened:
            if trade.status != TradeStatus.QUEUED:
                postings.append(("release", f"{ref}:unhold"))
            return postings
        if _opening_fee(trade):
            postings.append(("fee", f"{ref}:fee"))
    elif not opened:
        return postings  # a plan trade's refusal rolled back whatever it had posted
    else:
        postings.append(("release", f"{ref}:plan-fund"))
        postings.append(("reserve", f"{ref}:open"))
    if trade.status == TradeStatus.SETTLED:
        postings.append(("settle", f"{ref}:settle"))
        # What came back, stake + P&L - closing fee, is positive unless the loss took the
        # whole stake (the closing fee is not stored apart: `fee` bounds it).
        if trade.plan_id is not None and trade.pnl is not None and trade.stake + trade.pnl > trade.fee:
            postings.append(("reserve", f"{ref}:plan-return"))
    return postings


def _opening_fee(trade: Trade) -> Decimal:
    return trade_fee(
        stake=trade.stake, fee_bps=trade.instrument.fee_bps, money_scale=currency_scale(trade.currency)
    )


def assert_trades_consistent(*, expected_count: int | None = None) -> list[Trade]:
    trades = list(Trade.objects.select_related("instrument").order_by("pk"))
    if expected_count is not None:
        assert len(trades) == expected_count, f"{len(trades)} trades, expected {expected_count}"
    keys = Counter((t.user_id, t.idempotency_key) for t in trades)
    assert max(keys.values(), default=1) == 1, "a duplicate trade"
    for trade in trades:
        reference = f"trade:{trade.pk}"
        held = Entry.objects.filter(
            transaction__reference=reference, account__kind="reserved", account__owner__isnull=False
        ).aggregate(s=Sum("amount"))["s"] or Decimal(0)
        postings = list(
            LedgerTransaction.objects.filter(reference=reference).values_list("kind", "idempotency_key")
        )
        if trade.plan_id is not None and trade.pnl is not None and 0 < trade.stake + trade.pnl <= trade.fee:
            # Whether anything came back into the plan depends on the closing fee alone: either way.
            postings = [p for p in postings if p[1] != f"{reference}:plan-return"]
        assert Counter(postings) == Counter(_postings(trade)), (trade.pk, trade.status, postings)
        if trade.plan_id is None:
            # A plan trade is funded from its plan's reserve, not from available.
            expected = {
                TradeStatus.QUEUED: trade.stake + _opening_fee(trade),
                TradeStatus.OPEN: trade.stake,
            }.get(trade.status, Decimal(0))
            position = trade.stake if trade.status == TradeStatus.OPEN else 0
            assert held == expected == trade.held + position, (trade.pk, trade.status, held)
    assert_event_stream(trades)
    assert_events_resumable()
    return trades
