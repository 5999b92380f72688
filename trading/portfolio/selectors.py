"""Reads of a user's portfolio: what their money is worth now, and its curve.

Definitions (docs/trading.md, "Portfolio"), in one currency, at its scale:

- `available`, `reserved`: the user's cached ledger balances. `reserved`
  holds the stake of every open trade (and the stake + opening fee of queued
  trades, plan reserves, pending withdrawals): all still the user's money.
- `unrealised_pnl`: over open trades, the P&L of closing at the latest price
  (`trading.pnl.trade_pnl`, the settlement's own arithmetic) minus the
  opening fee already charged (`fee` while open). The closing fee, not yet
  charged, is not deducted.
- `equity`: available + reserved + the open trades' P&L at the latest price
  before fees, i.e. `unrealised_pnl` plus the open trades' opening fees.
  Those fees already left `available` when the trades opened; adding
  `unrealised_pnl` as it is would take them off twice. So equity is what the
  wallet would hold if every open trade closed at the mark, before closing
  fees, and equity = net deposits + `realised_pnl_all_time` +
  `unrealised_pnl`.
- `realised_pnl_*`: the sum of settled trades' `net_pnl` (P&L minus both
  fees, `Trade.net_pnl`), "today" being trades closed since 00:00 UTC.
- `fees_paid_*`: every fee the user was charged (ledger entries on the fees
  account), "today" being fees charged since 00:00 UTC.
- `marks_stale`: some open trade had no fresh latest price (its last known
  price is used; with none at all, its entry price, a P&L of 0).

Every figure is read in a fixed number of queries whatever the number of
trades or users (a test counts them): the snapshot task reads all users at
once through the same function.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from market.prices import price_latest_many
from trading.pnl import trade_pnl
from trading.portfolio.models import EquitySnapshot
from trading.trades.models import Trade, TradeStatus
from wallets.money import currency_scale, quantize
from wallets.selectors import user_balances, user_fees_paid

ZERO = Decimal(0)


@dataclass(slots=True)
class Portfolio:
    currency: str
    as_of: datetime
    available: Decimal = ZERO
    reserved: Decimal = ZERO
    unrealised_pnl: Decimal = ZERO
    open_pnl_gross: Decimal = ZERO  # the open trades' P&L at the mark before any fee
    realised_pnl_today: Decimal = ZERO
    realised_pnl_all_time: Decimal = ZERO
    fees_paid_today: Decimal = ZERO
    fees_paid_all_time: Decimal = ZERO
    open_trades: int = 0
    marks_stale: bool = False
    has_wallet: bool = field(default=False)

    @property
    def equity(self) -> Decimal:
        return self.available + self.reserved + self.open_pnl_gross


def utc_day_start(at: datetime) -> datetime:
    """00:00 UTC of `at`'s UTC day: the portfolio's "today" (docs/decisions.md)."""
    return datetime.combine(at.astimezone(UTC).date(), time.min, tzinfo=UTC)


def portfolios(
    *, currency: str, user_ids: list[int] | None, now: datetime | None = None
) -> dict[int, Portfolio]:
    """The portfolio of each user (`user_ids=None`: every user with a wallet in
    `currency`), in four queries and one Redis round trip whatever their
    number. A listed user with no wallet gets an all-zero portfolio."""
    with one_snapshot():
        return _portfolios(currency=currency, user_ids=user_ids, now=now or timezone.now())


@contextmanager
def one_snapshot() -> Iterator[None]:
    """The four reads see one moment of the database. Apart (autocommit, READ
    COMMITTED), a settlement committing between them counted its closing fee
    in the balances but not yet in the realised P&L: equity off by that fee
    for an instant, which the hourly snapshot could keep for a day. Inside a
    caller's transaction, that transaction decides."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _portfolios(*, currency: str, user_ids: list[int] | None, now: datetime) -> dict[int, Portfolio]:
    today = utc_day_start(now)
    scale = currency_scale(currency)
    balances = user_balances(currency=currency, user_ids=user_ids)
    ids = list(balances) if user_ids is None else list(user_ids)
    result = {uid: Portfolio(currency=currency, as_of=now) for uid in ids}
    for uid, (available, reserved) in balances.items():
        result[uid].available, result[uid].reserved, result[uid].has_wallet = available, reserved, True

    def scoped(qs: QuerySet[Trade]) -> QuerySet[Trade]:
        return qs if user_ids is None else qs.filter(user_id__in=user_ids)

    open_rows = list(
        scoped(Trade.objects.filter(status=TradeStatus.OPEN, currency=currency)).values_list(
            "user_id", "side", "quantity", "entry_price", "stake", "fee", "instrument__symbol"
        )
    )
    quotes = price_latest_many(sorted({row[6] for row in open_rows})) if open_rows else {}
    for uid, side, quantity, entry, stake, fee, symbol in open_rows:
        if uid not in result:  # an open trade of a user with no wallet here cannot be; stay safe
            result[uid] = Portfolio(currency=currency, as_of=now)
        item = result[uid]
        quote = quotes[symbol]
        assert quantity is not None and entry is not None  # an open trade has both (a check constraint)
        mark = quote.price if quote.price is not None else entry
        pnl = trade_pnl(side=side, quantity=quantity, entry=entry, exit=mark, stake=stake, money_scale=scale)
        item.open_pnl_gross += pnl
        item.unrealised_pnl += pnl - fee
        item.open_trades += 1
        item.marks_stale = item.marks_stale or quote.stale

    realised = (
        scoped(Trade.objects.filter(status=TradeStatus.SETTLED, currency=currency))
        .values("user_id")
        .annotate(
            today=Sum(F("pnl") - F("fee"), filter=Q(closed_at__gte=today)),
            all_time=Sum(F("pnl") - F("fee")),
        )
        .values_list("user_id", "today", "all_time")
    )
    for uid, realised_today, realised_all in realised:
        if uid in result:
            result[uid].realised_pnl_today = realised_today or ZERO
            result[uid].realised_pnl_all_time = realised_all or ZERO

    for uid, (fees_today, fees_all) in user_fees_paid(
        currency=currency, user_ids=user_ids, since=today
    ).items():
        if uid in result:
            result[uid].fees_paid_today, result[uid].fees_paid_all_time = fees_today, fees_all

    for item in result.values():
        for name in (
            "available",
            "reserved",
            "unrealised_pnl",
            "open_pnl_gross",
            "realised_pnl_today",
            "realised_pnl_all_time",
            "fees_paid_today",
            "fees_paid_all_time",
        ):
            setattr(item, name, quantize(getattr(item, name), currency))
    return result


def portfolio_of(*, user_id: int, currency: str, now: datetime | None = None) -> Portfolio:
    """The user's portfolio (all zeros before their first deposit)."""
    return portfolios(currency=currency, user_ids=[user_id], now=now)[user_id]


def equity_series(*, user_id: int, days: int, today: date) -> QuerySet[EquitySnapshot]:
    """The user's daily snapshots of the last `days` UTC days up to `today`, oldest first."""
    return EquitySnapshot.objects.filter(
        user_id=user_id, day__gt=today - timedelta(days=days), day__lte=today
    ).order_by("day")


__all__ = ["Portfolio", "equity_series", "portfolio_of", "portfolios", "utc_day_start"]
