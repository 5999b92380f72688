"""Take-profit, stop-loss and liquidation between settlement runs.

Settlement runs once a minute, but a level can be crossed and left again in
between. So each run walks the recorded price path since the last run (the
1-second `PriceTick`s, plus the latest live price the feed has not recorded
yet) and a trade closes at its level at the first recorded instant that
reaches it, as an order resting at that level would have; no later than its
expiry (a crossing after expiry belongs to nobody: the trade settled at its
expiry price).

The path is re-read from a little before the previous run (`LOOKBACK`), so
a trade another process held locked during one run is still judged on the
whole path the next time; judging the same stretch twice changes nothing.
Where the previous run ended is kept in the cache; without it (first run,
flushed Redis) the path starts at the oldest open level trade's opening.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Min, Q, QuerySet

from market.models import PriceTick
from market.prices import Quote
from trading.pnl import price_hits
from trading.trades.models import Trade, TradeSide

LOOKBACK = timedelta(minutes=5)
SCANNED_KEY = "levels:scanned:{symbol}"


@dataclass(frozen=True, slots=True)
class Hit:
    reason: str
    price: Decimal
    at: datetime


Points = list[tuple[datetime, Decimal]]


@dataclass(frozen=True, slots=True)
class Path:
    symbol: str
    points: Points  # oldest first
    recorded_until: datetime | None  # the last recorded tick among them


def level_trades() -> QuerySet[Trade]:
    """Open trades with at least one level (expired ones too: a level reached
    before expiry wins over the expiry price)."""
    return Trade.objects.filter(status="open").filter(
        Q(take_profit__isnull=False) | Q(stop_loss__isnull=False) | Q(liquidation_price__gt=0)
    )


def level_path(symbol: str, *, trades: QuerySet[Trade], quote: Quote | None, now: datetime) -> Path:
    """The prices of `symbol` to judge this run: recorded ticks, then the
    latest live price if it is fresh and newer."""
    scanned = cache.get(SCANNED_KEY.format(symbol=symbol))
    oldest = trades.filter(instrument__symbol=symbol).aggregate(at=Min("opened_at"))["at"]
    if oldest is None:
        return Path(symbol, [], None)
    start = oldest if scanned is None else max(oldest, datetime.fromisoformat(scanned) - LOOKBACK)
    points: Points = list(
        PriceTick.objects.filter(instrument__symbol=symbol, at__gte=start, at__lte=now)
        .order_by("at")
        .values_list("at", "price")
    )
    recorded_until = points[-1][0] if points else None
    if quote is not None and quote.price is not None and not quote.stale and quote.at is not None:
        if quote.at <= now and (recorded_until is None or quote.at > recorded_until):
            points.append((quote.at, quote.price))
    return Path(symbol, points, recorded_until)


def level_path_done(path: Path) -> None:
    """Remember where this run's recorded path ended (the next starts a little before)."""
    if path.recorded_until is not None:
        cache.set(SCANNED_KEY.format(symbol=path.symbol), path.recorded_until.isoformat(), timeout=None)


def path_could_hit(path: Path) -> Q:
    """Trades one of whose levels lies within the path's range (a superset of
    those hit: each is then walked along the path)."""
    low = min(price for _, price in path.points)
    high = max(price for _, price in path.points)
    return (
        Q(side=TradeSide.BUY)
        & (Q(take_profit__lte=high) | Q(stop_loss__gte=low) | Q(liquidation_price__gte=low))
    ) | (
        Q(side=TradeSide.SELL)
        & (
            Q(take_profit__gte=low)
            | Q(stop_loss__lte=high)
            | Q(liquidation_price__lte=high, liquidation_price__gt=0)
        )
    )


def first_hit(trade: Trade, path: Path) -> Hit | None:
    """The first instant after the trade opened, and not after its expiry, at
    which the path reaches one of its levels."""
    assert trade.opened_at is not None
    for at, price in path.points:
        if at < trade.opened_at:
            continue
        if trade.expires_at is not None and at > trade.expires_at:
            return None
        found = price_hits(
            side=trade.side,
            price=price,
            take_profit=trade.take_profit,
            stop_loss=trade.stop_loss,
            liquidation=trade.liquidation_price or None,
        )
        if found is not None:
            return Hit(reason=found[0], price=found[1], at=at)
    return None
