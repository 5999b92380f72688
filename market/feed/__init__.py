"""The market feed: price sources, the loop that polls them, and what it does
with each tick.

- `sources`: the `PriceSource` interface (the only thing a live exchange or
  broker adapter has to implement) and the two built-in sources,
  `random_walk` and `replay`.
- `coalesce`: at most `TICKER_MAX_RATE` ticks per second per symbol to the
  channel layer, always ending on the latest price.
- `recorder`: 1-minute bars and 1-second price ticks written to PostgreSQL in
  batches, as upserts that survive restarts and retries.
- `backoff`: capped exponential back-off with jitter for Redis and PostgreSQL.
- `runner`: `MarketFeed`, the loop `manage.py run_market_feed` runs.

See docs/market-data.md for the design and the choices made.
"""
