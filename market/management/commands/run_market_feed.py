"""`python manage.py run_market_feed`: the feed process (docs/market-data.md).

Runs until SIGINT/SIGTERM (then flushes what is pending and exits 0). Test and
demo options: `--seconds N` / `--steps N` to stop by itself, `--speed X` to
run sources faster than the clock, `--symbols A,B` to price only some
instruments, `--seed N` to pick the random walk.
"""

from __future__ import annotations

import argparse
import logging
import signal
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection

from market.feed.backoff import Backoff
from market.feed.build import FeedConfigError, feed_build
from market.feed.runner import MarketFeed
from market.feed.sources import SourceConfigError

logger = logging.getLogger("market.feed")


def _speed(raw: str) -> Decimal:
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise argparse.ArgumentTypeError("must be a number") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


class Command(BaseCommand):
    help = "Run the market price feed: latest prices to Redis, ticks to ticker groups, bars to PostgreSQL."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seconds", type=float, help="stop after this many seconds")
        parser.add_argument("--steps", "--ticks", type=int, dest="steps", help="stop after this many steps")
        parser.add_argument("--speed", type=_speed, default=Decimal(1), help="source time per clock second")
        parser.add_argument("--symbols", default="", help="comma-separated symbols (default: all active)")
        parser.add_argument("--seed", type=int, help="random walk seed (default settings.FEED_SEED)")
        parser.add_argument("--tick-interval", type=float, help="seconds between steps")
        parser.add_argument("--max-rate", type=int, help="ticks per second per symbol to the ticker groups")

    def handle(self, *args: Any, **options: Any) -> None:
        symbols = [s.strip() for s in options["symbols"].split(",") if s.strip()]
        feed = self._build(symbols, options)
        previous = {
            sig: signal.signal(sig, lambda *_: feed.stop()) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        logger.info("feed started: %s", ", ".join(item.instrument.symbol for item in feed.items))
        try:
            feed.run(seconds=options["seconds"], steps=options["steps"])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        logger.info(
            "feed stopped after %d steps: %d ticks, %d published", feed.steps, feed.ticks, feed.published
        )

    def _build(self, symbols: list[str], options: dict[str, Any]) -> MarketFeed:
        """Load instruments, waiting with back-off while PostgreSQL is unreachable."""
        backoff = Backoff()
        while True:
            try:
                return feed_build(
                    symbols=symbols or None,
                    seed=options["seed"],
                    speed=options["speed"],
                    tick_interval=options["tick_interval"],
                    max_rate=options["max_rate"],
                )
            except (FeedConfigError, SourceConfigError) as exc:
                raise CommandError(str(exc)) from exc
            except DatabaseError as exc:
                delay = backoff.failed(time.monotonic())
                logger.warning("cannot load instruments (%s); retrying in %.1f s", exc, delay)
                connection.close()
                time.sleep(delay)
