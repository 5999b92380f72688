"""Settlement of due trades in batches (`process_completed_trades`).

Two passes, each in batches of `SETTLEMENT_BATCH_SIZE` rows taken with
`SELECT ... FOR UPDATE SKIP LOCKED`, one transaction per batch:

1. expiry: open trades with `expires_at <= now` settle at `price_at(symbol,
   expires_at)`, the last price recorded at or before expiry, so a run that
   comes late gives the same answer. It waits until the feed has recorded
   prices through that instant (`price_recorded_through`), at most
   `SETTLEMENT_GRACE_SECONDS`, then settles on what was recorded; a trade
   with no recorded price at all stays open and is logged.
2. levels: open trades whose take-profit, stop-loss or liquidation level the
   latest fresh price has reached settle at that level (`trading.pnl.price_hits`).

Two workers running this at once never touch the same row (SKIP LOCKED), and
`trade_settle_locked` runs under the row lock, so a trade settles once. Each
trade settles in its own savepoint: one that fails (logged) leaves the rest of
the batch to commit. A plan trade needs its plan row, which comes before the
trade in the lock order; it is asked for without waiting and the trade is
left for the next run if the plan is busy (its maturity is closing it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from config.errors import DomainError
from trading.locks import plan_try_lock
from trading.models import CloseReason, Trade, TradeSide, TradeStatus
from trading.pnl import price_hits
from trading.prices import price_at, price_latest_many, price_recorded_through
from trading.trades.services import trade_settle_locked

logger = logging.getLogger(__name__)


@dataclass
class SettlementReport:
    settled: int = 0
    waiting: int = 0
    errors: int = 0


def _settle_one(
    trade: Trade, *, exit_price: Decimal, reason: str, at: datetime, report: SettlementReport
) -> None:
    plan = None
    if trade.plan_id is not None:
        plan = plan_try_lock(plan_id=trade.plan_id)
        if plan is None:
            report.waiting += 1
            return
    try:
        with transaction.atomic():
            trade_settle_locked(trade, exit_price=exit_price, reason=reason, at=at, plan=plan)
    except DomainError:
        logger.exception("settling trade %s failed; it stays open for the next run", trade.pk)
        report.errors += 1
        return
    report.settled += 1


def _batches(queryset: QuerySet[Trade], *, handle: Callable[[Trade], bool], batch_size: int) -> None:
    """Lock and handle `queryset` in batches until a batch settles nothing new.

    `handle` returns False for a trade it left open (waiting for a price or
    its plan); those are excluded from later batches of this run."""
    skipped: list[int] = []
    while True:
        with transaction.atomic():
            batch = list(
                queryset.exclude(pk__in=skipped)
                .select_for_update(of=("self",), skip_locked=True)
                .select_related("instrument", "user")
                .order_by("pk")[:batch_size]
            )
            if not batch:
                return
            for trade in batch:
                if not handle(trade):
                    skipped.append(trade.pk)


def _expiry_price(trade: Trade, *, now: datetime, recorded: dict[str, datetime | None]) -> Decimal | None:
    symbol = trade.instrument.symbol
    assert trade.expires_at is not None
    if symbol not in recorded:
        recorded[symbol] = price_recorded_through(symbol)
    through = recorded[symbol]
    grace_over = now - trade.expires_at > timedelta(seconds=settings.SETTLEMENT_GRACE_SECONDS)
    if (through is None or through < trade.expires_at) and not grace_over:
        return None
    price = price_at(symbol, trade.expires_at)
    return None if price is None else price.quantize(trade.instrument.price_quantum)


def trades_settle_due(*, now: datetime | None = None, batch_size: int | None = None) -> SettlementReport:
    """Settle every open trade past expiry or past one of its levels. Safe to run concurrently."""
    now = now or timezone.now()
    size = batch_size or settings.SETTLEMENT_BATCH_SIZE
    report = SettlementReport()
    recorded: dict[str, datetime | None] = {}

    def settle_expired(trade: Trade) -> bool:
        if trade.status != TradeStatus.OPEN:
            return False
        price = _expiry_price(trade, now=now, recorded=recorded)
        if price is None:
            report.waiting += 1
            return False
        assert trade.expires_at is not None
        before = report.settled
        _settle_one(trade, exit_price=price, reason=CloseReason.EXPIRY, at=trade.expires_at, report=report)
        return report.settled > before

    open_trades = Trade.objects.filter(status=TradeStatus.OPEN)
    _batches(open_trades.filter(expires_at__lte=now), handle=settle_expired, batch_size=size)

    with_levels = open_trades.filter(expires_at__gt=now).filter(
        Q(take_profit__isnull=False) | Q(stop_loss__isnull=False) | Q(liquidation_price__gt=0)
    )
    symbols = sorted(set(with_levels.values_list("instrument__symbol", flat=True)))
    for symbol, quote in price_latest_many(symbols, now=now).items():
        if quote.price is None or quote.stale or quote.at is None:
            continue
        price, at = quote.price, quote.at
        hit = (
            Q(side=TradeSide.BUY)
            & (Q(take_profit__lte=price) | Q(stop_loss__gte=price) | Q(liquidation_price__gte=price))
        ) | (
            Q(side=TradeSide.SELL)
            & (Q(take_profit__gte=price) | Q(stop_loss__lte=price) | Q(liquidation_price__lte=price))
        )

        def settle_hit(trade: Trade, price: Decimal = price, at: datetime = at) -> bool:
            found = price_hits(
                side=trade.side,
                price=price,
                take_profit=trade.take_profit,
                stop_loss=trade.stop_loss,
                liquidation=trade.liquidation_price or None,
            )
            if trade.status != TradeStatus.OPEN or found is None:
                return False
            before = report.settled
            _settle_one(trade, exit_price=found[1], reason=found[0], at=at, report=report)
            return report.settled > before

        _batches(with_levels.filter(hit, instrument__symbol=symbol), handle=settle_hit, batch_size=size)
    return report
