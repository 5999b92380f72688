"""Building a `MarketFeed` from the instruments in the database and settings.

The source of an instrument is `settings.MARKET_FEED_SOURCES[symbol]` when
set, else `Instrument.feed_source`; its parameters are
`Instrument.feed_params`. A random walk continues from the last price the
platform knows (Redis, else PostgreSQL), so a restart leaves a gap in time
but not a jump in price.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings

from market.feed.runner import MarketFeed
from market.feed.sources import PriceSource, source_build
from market.models import Instrument
from market.prices import price_last_known


class FeedConfigError(ValueError):
    pass


def feed_source_kind(instrument: Instrument) -> str:
    return str(settings.MARKET_FEED_SOURCES.get(instrument.symbol, instrument.feed_source))


def feed_build(
    *,
    symbols: list[str] | None = None,
    seed: int | None = None,
    speed: Decimal = Decimal(1),
    tick_interval: float | None = None,
    max_rate: int | None = None,
) -> MarketFeed:
    instruments = list(Instrument.objects.filter(active=True).order_by("symbol"))
    if symbols:
        known = {i.symbol for i in instruments}
        unknown = sorted(set(symbols) - known)
        if unknown:
            raise FeedConfigError(f"unknown or inactive symbols: {', '.join(unknown)}")
        instruments = [i for i in instruments if i.symbol in symbols]
    seed = settings.FEED_SEED if seed is None else seed
    pairs: list[tuple[Instrument, PriceSource]] = []
    for instrument in instruments:
        kind = feed_source_kind(instrument)
        start = price_last_known(instrument.symbol) if kind == "random_walk" else None
        source = source_build(
            kind=kind,
            symbol=instrument.symbol,
            price_scale=instrument.price_scale,
            params=instrument.feed_params,
            seed=seed,
            speed=speed,
            start_price=start,
        )
        pairs.append((instrument, source))
    return MarketFeed(
        instruments=pairs,
        tick_interval=settings.FEED_TICK_INTERVAL if tick_interval is None else tick_interval,
        flush_interval=settings.FEED_FLUSH_INTERVAL,
        max_rate=settings.TICKER_MAX_RATE if max_rate is None else max_rate,
    )
