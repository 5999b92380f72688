"""Settlement of due trades in batches (`process_completed_trades`).

Two passes, each in batches of `SETTLEMENT_BATCH_SIZE` rows taken with
`SELECT ... FOR UPDATE SKIP LOCKED`, one transaction per batch:

1. levels: open trades (expired ones too) whose take-profit, stop-loss or
   liquidation level the recorded price path since the last run reached
   settle at that level, at the instant it was reached, if that was before
   expiry (`trading/trades/levels.py`).
2. expiry: open trades with `expires_at <= now` settle at `price_at(symbol,
   expires_at)`, the last price recorded at or before expiry, so a run that
   comes late gives the same answer. It waits until the feed has recorded
   prices through that instant (`price_recorded_through`), at most
   `SETTLEMENT_GRACE_SECONDS`, then settles on what was recorded; a trade
   with no recorded price at all stays open and is logged.

Two workers running this at once never touch the same row (SKIP LOCKED), and
settlement runs under the row lock, so a trade settles once. A plan trade
needs its plan row, which comes before the trade in the lock order; it is
asked for without waiting and the trade is left for the next run if the plan
is busy (its maturity is closing it).

Plain trades of a batch settle together: one `wallet_settle_batch` (still one
ledger transaction per trade), one bulk UPDATE, one `trade.settled` event per
trade. If that fails, the batch's trades are settled one by one, each in its
own savepoint, so one bad trade holds back no other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.errors import DomainError
from market.models import Instrument
from market.prices import price_at, price_at_many, price_latest_many, price_recorded_through
from trading.locks import plan_try_lock
from trading.trades.levels import (
    Hit,
    Path,
    first_hit,
    level_path,
    level_path_done,
    level_trades,
    path_could_hit,
)
from trading.trades.models import CloseReason, Trade, TradeSide, TradeStatus
from trading.trades.services import SettleOrder, trade_settle_locked, trades_settle_locked

logger = logging.getLogger(__name__)


@dataclass
class SettlementReport:
    settled: int = 0
    waiting: int = 0
    errors: int = 0


def _settle_one(order: SettleOrder, *, report: SettlementReport) -> bool:
    """One trade in its own savepoint (a plan trade, or the fallback of a failed batch)."""
    trade = order.trade
    plan = None
    if trade.plan_id is not None:
        plan = plan_try_lock(plan_id=trade.plan_id)
        if plan is None:
            report.waiting += 1
            return False
    try:
        with transaction.atomic():
            trade_settle_locked(
                trade, exit_price=order.exit_price, reason=order.reason, at=order.at, plan=plan
            )
    except DomainError:
        logger.exception(
            "settling trade %s failed; it stays open for the next run",
            trade.pk,
            extra={"trade_id": trade.pk, "user_id": trade.user_id},
        )
        report.errors += 1
        return False
    report.settled += 1
    return True


def _settle(orders: list[SettleOrder], *, report: SettlementReport) -> set[int]:
    """Settle `orders` (locked by the caller); return the ids left open.

    Plain trades go in one ledger batch; if the batch fails (one bad trade
    must not hold back the rest), each is retried alone in its savepoint."""
    plain = [o for o in orders if o.trade.plan_id is None]
    left: set[int] = set()
    try:
        with transaction.atomic():
            trades_settle_locked(orders=plain)
        report.settled += len(plain)
    except DomainError:
        logger.warning(
            "a settlement batch failed; settling its %s trades one by one", len(plain), exc_info=True
        )
        for order in plain:
            # The rolled-back batch left the in-memory rows marked settled; reload them.
            order.trade.refresh_from_db()
            if not _settle_one(order, report=report):
                left.add(order.trade.pk)
    for order in orders:
        if order.trade.plan_id is not None and not _settle_one(order, report=report):
            left.add(order.trade.pk)
    return left


# Where the previous batch ended, as one row comparison: PostgreSQL starts the
# index scan there, instead of walking again over every row this run already
# settled (their entries stay in the partial index until VACUUM removes them).
_AFTER = '("trading_trade"."expires_at", "trading_trade"."id") > (%s, %s)'


def _batches(
    queryset: QuerySet[Trade],
    *,
    handle: Callable[[list[Trade]], set[int]],
    batch_size: int,
    instruments: dict[int, Instrument],
) -> None:
    """Lock and handle `queryset` in batches of rows no other worker holds,
    one transaction per batch, until nothing is left.

    Batches follow the index order (expires_at, id) and each starts after
    the last row of the one before: the rows `handle` left open (waiting for
    a price or a plan; it returns their ids) are behind that point, and so
    are the rows this run settled, so no batch reads them again. Rows another
    worker held locked when a batch was read are that worker's; any it
    leaves open are there for the next run.

    Instruments are read once per run (`instruments`, by id), not joined to
    every trade row: a batch has one or a few, and building one per row cost
    as much as the trade itself."""
    after: tuple[datetime, int] | None = None
    while True:
        with transaction.atomic():
            page = queryset
            if after is not None:
                # A constant SQL text; the values go as parameters.
                page = page.filter(RawSQL(_AFTER, after, output_field=BooleanField()))  # noqa: S611
            batch = list(
                page.select_for_update(of=("self",), skip_locked=True)
                # Index order (the partial index on open trades' (expires_at, id)), not a
                # sort of every due row per batch. SKIP LOCKED never waits, so
                # this order cannot deadlock with writers locking by id.
                .order_by("expires_at", "pk")[:batch_size]
            )
            if not batch:
                return
            missing = {trade.instrument_id for trade in batch} - instruments.keys()
            if missing:
                instruments.update(Instrument.objects.in_bulk(missing))
            for trade in batch:
                trade.instrument = instruments[trade.instrument_id]
            handle(batch)
            last = batch[-1]
            assert last.expires_at is not None  # open trades have one (DB constraint)
            after = (last.expires_at, last.pk)


def _expiry_price(
    trade: Trade,
    *,
    now: datetime,
    recorded: dict[str, datetime | None],
    prices: dict[tuple[str, datetime], Decimal | None],
) -> Decimal | None:
    symbol = trade.instrument.symbol
    assert trade.expires_at is not None
    if symbol not in recorded:
        recorded[symbol] = price_recorded_through(symbol)
    through = recorded[symbol]
    grace_over = now - trade.expires_at > timedelta(seconds=settings.SETTLEMENT_GRACE_SECONDS)
    if (through is None or through < trade.expires_at) and not grace_over:
        return None
    # Trades opened in the same instant with one duration share an expiry.
    key = (symbol, trade.expires_at)
    if key not in prices:
        prices[key] = price_at(symbol, trade.expires_at)
    price = prices[key]
    return None if price is None else price.quantize(trade.instrument.price_quantum)


def _settle_first_hits(batch: list[Trade], *, path: Path, report: SettlementReport) -> set[int]:
    """Settle each trade of `batch` at the first point of `path` that reaches
    one of its levels; the ids of those no point reaches stay open."""
    orders, missed = [], set()
    for trade in batch:
        hit = first_hit(trade, path)
        if hit is None:
            missed.add(trade.pk)
            continue
        orders.append(SettleOrder(trade=trade, exit_price=hit.price, reason=hit.reason, at=hit.at))
    return missed | _settle(orders, report=report)


def trades_settle_due(*, now: datetime | None = None, batch_size: int | None = None) -> SettlementReport:
    """Settle every open trade past expiry or past one of its levels. Safe to run concurrently."""
    now = now or timezone.now()
    size = batch_size or settings.SETTLEMENT_BATCH_SIZE
    report = SettlementReport()
    recorded: dict[str, datetime | None] = {}
    prices: dict[tuple[str, datetime], Decimal | None] = {}
    instruments: dict[int, Instrument] = {}

    def settle_expired(batch: list[Trade]) -> set[int]:
        orders, waiting = [], set()
        for trade in batch:
            price = _expiry_price(trade, now=now, recorded=recorded, prices=prices)
            if price is None:
                report.waiting += 1
                waiting.add(trade.pk)
                continue
            assert trade.expires_at is not None
            orders.append(
                SettleOrder(trade=trade, exit_price=price, reason=CloseReason.EXPIRY, at=trade.expires_at)
            )
        return waiting | _settle(orders, report=report)

    # Levels first: a level reached before expiry wins over the expiry price.
    with_levels = level_trades()
    symbols = sorted(set(with_levels.values_list("instrument__symbol", flat=True)))
    for symbol, quote in price_latest_many(symbols, now=now).items():
        path = level_path(symbol, trades=with_levels, quote=quote, now=now)
        if not path.points:
            continue

        candidates = with_levels.filter(path_could_hit(path), instrument__symbol=symbol)
        handle = partial(_settle_first_hits, path=path, report=report)
        _batches(candidates, handle=handle, batch_size=size, instruments=instruments)
        level_path_done(path)

    open_trades = Trade.objects.filter(status=TradeStatus.OPEN)
    due = open_trades.filter(expires_at__lte=now)
    _batches(due, handle=settle_expired, batch_size=size, instruments=instruments)

    # The trades themselves are named by the per-batch lines of
    # trades_settle_locked; an idle run (most minutes) says nothing.
    if report.settled or report.waiting or report.errors:
        logger.info(
            "settlement run: %s settled, %s waiting, %s errors", report.settled, report.waiting, report.errors
        )
    return report


# --- settlement at the instant (trading/trades/schedule.py) --------------------


def _could_hit(trade: Trade, low: Decimal, high: Decimal) -> bool:
    """Whether a price between `low` and `high` reaches one of the trade's
    levels: only such a trade is walked along the path (most never come near
    their levels, and a walk is one comparison per recorded second)."""
    liquidation = trade.liquidation_price if (trade.liquidation_price or 0) > 0 else None
    if trade.side == TradeSide.BUY:
        return (
            (trade.take_profit is not None and trade.take_profit <= high)
            or (trade.stop_loss is not None and trade.stop_loss >= low)
            or (liquidation is not None and liquidation >= low)
        )
    return (
        (trade.take_profit is not None and trade.take_profit >= low)
        or (trade.stop_loss is not None and trade.stop_loss <= high)
        or (liquidation is not None and liquidation <= high)
    )


def _expiry_prices_prefetch(
    batch: list[Trade], *, prices: dict[tuple[str, datetime], Decimal | None]
) -> None:
    """Fill `_expiry_price`'s cache for a batch: two queries per symbol
    (`price_at_many`) instead of one per distinct expiry instant."""
    instants: dict[str, set[datetime]] = {}
    for trade in batch:
        if trade.expires_at is not None and (trade.instrument.symbol, trade.expires_at) not in prices:
            instants.setdefault(trade.instrument.symbol, set()).add(trade.expires_at)
    for symbol, wanted in instants.items():
        for at, price in price_at_many(symbol, wanted).items():
            prices[(symbol, at)] = price


def trades_settle_expired(*, now: datetime | None = None, batch_size: int | None = None) -> SettlementReport:
    """The expiry pass alone, for the task scheduled at an expiry instant:
    every open trade with `expires_at <= now`, in batches, at its expiry price
    (waiting, as `trades_settle_due` does, until the feed has recorded through
    the expiry). A due trade with levels is first walked along the recorded
    path up to its expiry: a level reached before expiry wins (its tick task
    may not have run yet). Safe beside the minute sweep (SKIP LOCKED, and a
    settled trade is no longer open)."""
    now = now or timezone.now()
    size = batch_size or settings.SETTLEMENT_BATCH_SIZE
    report = SettlementReport()
    recorded: dict[str, datetime | None] = {}
    prices: dict[tuple[str, datetime], Decimal | None] = {}
    paths: dict[str, Path] = {}
    ranges: dict[str, tuple[Decimal, Decimal] | None] = {}

    def level_hit(trade: Trade) -> Hit | None:
        symbol = trade.instrument.symbol
        if symbol not in paths:
            due = level_trades().filter(instrument__symbol=symbol, expires_at__lte=now)
            path = level_path(symbol, trades=due, quote=None, now=now)
            paths[symbol] = path
            ranges[symbol] = (
                (min(p for _, p in path.points), max(p for _, p in path.points)) if path.points else None
            )
        span = ranges[symbol]
        if span is None or not _could_hit(trade, *span):
            return None
        return first_hit(trade, paths[symbol])

    def settle_expired(batch: list[Trade]) -> set[int]:
        _expiry_prices_prefetch(batch, prices=prices)
        orders, waiting = [], set()
        for trade in batch:
            price = _expiry_price(trade, now=now, recorded=recorded, prices=prices)
            if price is None:
                report.waiting += 1
                waiting.add(trade.pk)
                continue
            assert trade.expires_at is not None
            hit = level_hit(trade)
            if hit is not None:
                orders.append(SettleOrder(trade=trade, exit_price=hit.price, reason=hit.reason, at=hit.at))
            else:
                orders.append(
                    SettleOrder(trade=trade, exit_price=price, reason=CloseReason.EXPIRY, at=trade.expires_at)
                )
        return waiting | _settle(orders, report=report)

    due = Trade.objects.filter(status=TradeStatus.OPEN, expires_at__lte=now)
    _batches(due, handle=settle_expired, batch_size=size, instruments={})
    if report.settled or report.errors:
        logger.info(
            "settlement at expiry: %s settled, %s waiting, %s errors",
            report.settled,
            report.waiting,
            report.errors,
        )
    return report


def trades_settle_levels(
    *,
    symbol: str,
    points: list[tuple[datetime, Decimal]],
    trade_ids: list[int],
    now: datetime | None = None,
    batch_size: int | None = None,
) -> SettlementReport:
    """Settle `trade_ids` (open trades of `symbol` whose level a tick crossed,
    from the feed's price watches) at the first of `points` that reaches one
    of their levels, at that level, as the level pass of `trades_settle_due`
    would. A trade no point reaches (already settled, a crossing after its
    expiry, a watch out of date) is left alone."""
    now = now or timezone.now()
    size = batch_size or settings.SETTLEMENT_BATCH_SIZE
    report = SettlementReport()
    path = Path(symbol, sorted((at, price) for at, price in points if at <= now), None)
    if not path.points or not trade_ids:
        return report

    candidates = level_trades().filter(pk__in=trade_ids, instrument__symbol=symbol)
    handle = partial(_settle_first_hits, path=path, report=report)
    _batches(candidates, handle=handle, batch_size=size, instruments={})
    if report.settled or report.errors:
        logger.info(
            "settlement at a level of %s: %s settled, %s waiting, %s errors",
            symbol,
            report.settled,
            report.waiting,
            report.errors,
        )
    return report
