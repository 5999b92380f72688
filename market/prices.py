"""The price service: the latest price of an instrument and the price recorded
at an instant.

- Latest price: the feed writes it to Redis (through the Django cache, whose
  key prefix keeps parallel runs apart) on every tick with the instant it was
  observed. `price_latest` reads it and says explicitly whether it is stale:
  missing, or older than `settings.PRICE_STALE_AFTER` seconds. Trading must
  refuse to open or settle on a stale quote. If Redis cannot be reached the
  quote is reported stale too (nothing trades on a price it cannot see).
- Recorded price: `price_at` is the last price recorded in PostgreSQL at or
  before an instant, from `PriceTick` (1-second resolution, kept for
  `PRICE_TICK_RETENTION_DAYS`) and, for older instants, from the close of the
  last 1-minute bar that ended by then. It reads committed history only, so
  asking again later gives the same answer once the feed has recorded past
  that instant; `price_recorded_through` says how far that is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

from market.models import Bar, PriceTick

logger = logging.getLogger(__name__)

LATEST_KEY = "price:latest:{symbol}"
RECORDED_KEY = "price:recorded:{symbol}"
BAR_LENGTH = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    price: Decimal | None
    at: datetime | None
    stale: bool

    @property
    def age(self) -> timedelta | None:
        return None if self.at is None else timezone.now() - self.at


def _is_stale(at: datetime, now: datetime) -> bool:
    return now - at > timedelta(seconds=settings.PRICE_STALE_AFTER)


def price_latest(symbol: str, *, now: datetime | None = None) -> Quote:
    """The last price the feed wrote for `symbol`, flagged stale when missing or too old."""
    now = now or timezone.now()
    try:
        raw = cache.get(LATEST_KEY.format(symbol=symbol))
    except (RedisError, OSError):
        logger.warning("price_latest: Redis unavailable, reporting %s as stale", symbol, exc_info=True)
        return Quote(symbol=symbol, price=None, at=None, stale=True)
    if raw is None:
        return Quote(symbol=symbol, price=None, at=None, stale=True)
    at = datetime.fromisoformat(raw["at"])
    return Quote(symbol=symbol, price=Decimal(raw["price"]), at=at, stale=_is_stale(at, now))


def price_latest_many(symbols: list[str], *, now: datetime | None = None) -> dict[str, Quote]:
    """`price_latest` for several symbols in one Redis round trip."""
    now = now or timezone.now()
    keys = {LATEST_KEY.format(symbol=s): s for s in symbols}
    try:
        found = cache.get_many(list(keys))
    except (RedisError, OSError):
        logger.warning("price_latest_many: Redis unavailable, reporting stale", exc_info=True)
        found = {}
    quotes = {s: Quote(symbol=s, price=None, at=None, stale=True) for s in symbols}
    for key, raw in found.items():
        at = datetime.fromisoformat(raw["at"])
        symbol = keys[key]
        quotes[symbol] = Quote(symbol=symbol, price=Decimal(raw["price"]), at=at, stale=_is_stale(at, now))
    return quotes


def price_record(*, prices: dict[str, tuple[Decimal, datetime]]) -> None:
    """Write the latest price of each symbol to Redis in one round trip.

    The feed's only writer of latest prices. Raises Redis errors: the feed
    decides how to back off.
    """
    cache.set_many(
        {
            LATEST_KEY.format(symbol=symbol): {"price": str(price), "at": at.isoformat()}
            for symbol, (price, at) in prices.items()
        },
        timeout=None,
    )


def price_recorded_mark(*, symbols: list[str], through: datetime) -> None:
    """Record that every tick of `symbols` at or before `through` is committed in PostgreSQL."""
    cache.set_many({RECORDED_KEY.format(symbol=s): through.isoformat() for s in symbols}, timeout=None)


def price_recorded_through(symbol: str) -> datetime | None:
    """Up to which instant `price_at(symbol, ...)` is final (None: unknown, feed not seen).

    A settlement that wants an answer that can never change waits until this
    is at or after its instant.
    """
    try:
        raw = cache.get(RECORDED_KEY.format(symbol=symbol))
    except (RedisError, OSError):
        logger.warning("price_recorded_through: Redis unavailable", exc_info=True)
        return None
    return None if raw is None else datetime.fromisoformat(raw)


def price_at(symbol: str, at: datetime) -> Decimal | None:
    """The last price recorded at or before `at`, or None if none was recorded."""
    row = (
        PriceTick.objects.filter(instrument__symbol=symbol, at__lte=at)
        .order_by("-at")
        .values_list("price", "instrument__price_scale")
        .first()
    )
    if row is None:
        # Ticks older than their retention are pruned: fall back to the close
        # of the last whole minute bar that ended by `at`.
        row = (
            Bar.objects.filter(instrument__symbol=symbol, start__lte=at - BAR_LENGTH)
            .order_by("-start")
            .values_list("close", "instrument__price_scale")
            .first()
        )
    if row is None:
        return None
    price, scale = row
    return price.quantize(Decimal(1).scaleb(-scale))


def price_at_many(symbol: str, instants: Iterable[datetime]) -> dict[datetime, Decimal | None]:
    """`price_at(symbol, at)` for each of `instants`, in two queries however
    many there are (the earliest instant's answer, then the ticks recorded
    after it up to the latest; a third when the earliest predates the kept
    ticks): a thousand trades expiring within one second each have their own
    instant."""
    wanted = sorted(set(instants))
    if not wanted:
        return {}
    first = price_at(symbol, wanted[0])
    ticks = list(
        PriceTick.objects.filter(instrument__symbol=symbol, at__gt=wanted[0], at__lte=wanted[-1])
        .order_by("at")
        .values_list("at", "price", "instrument__price_scale")
    )
    answers: dict[datetime, Decimal | None] = {}
    current, i = first, 0
    for at in wanted:
        while i < len(ticks) and ticks[i][0] <= at:
            _, price, scale = ticks[i]
            current = price.quantize(Decimal(1).scaleb(-scale))
            i += 1
        answers[at] = current
    return answers


def price_last_known(symbol: str) -> Decimal | None:
    """The newest price anywhere (Redis, then ticks, then bars), stale or not.

    Used by the feed to continue a random walk where it stopped.
    """
    quote = price_latest(symbol)
    if quote.price is not None:
        return quote.price
    tick = PriceTick.objects.filter(instrument__symbol=symbol).order_by("-at").only("price").first()
    if tick is not None:
        return tick.price
    bar = Bar.objects.filter(instrument__symbol=symbol).order_by("-start").only("close").first()
    return None if bar is None else bar.close
