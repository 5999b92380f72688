"""Settlement at the instant: when an open trade's settlement runs.

Two triggers, both set up after the open commits, from the committed
`trade.opened` event (`realtime.listeners`: `trade_events_committed` below,
registered in `TradingConfig.ready`), so the opening transaction itself
does nothing more:

- **expiry**: one `trading.tasks.settle_expired_trades` task per expiry
  second, sent with an ETA just after that second ends
  (`expiry_eta`: the recorded price at expiry is final only once the feed
  has written the second's last tick, which it does at the first step of the
  next second). The task settles every trade due by then in batches
  (`trades_settle_expired`), so 1,000 trades expiring in one second are one
  task and two batches, not 1,000 transactions. A Redis `SET NX` per second
  makes the first opener of that second send it, the others nothing.
  Only expiries within `SETTLE_SCHEDULE_HORIZON_SECONDS` are sent at open:
  ETA tasks wait in a worker's memory, unacknowledged, and the Redis broker
  hands an unacknowledged message to another worker after its
  `visibility_timeout` (docs/decisions.md). Later expiries are sent by
  `trading.tasks.schedule_expiry_settlements` (every minute) once they come
  within the horizon.
- **levels**: the trade's take-profit, stop-loss and liquidation levels go
  into the feed's price watches (`market.watches`); a tick crossing one makes
  the feed call `levels_crossed_enqueue` (throttled per symbol), which sends
  `trading.tasks.settle_crossed_levels` with the crossing ticks and the
  trades; the task settles them at the level (`trades_settle_levels`). A
  `trade.settled` event removes the trade's watches.

Neither trigger is needed for correctness: `process_completed_trades`
(every minute) settles whatever they missed (a lost message, a flushed
Redis, a worker killed with ETA tasks in memory) and, in the normal case,
finds nothing to do.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import redis
from django.conf import settings
from django.db.models.functions import Trunc
from django.utils import timezone

from core.redis import redis_client
from market.watches import Crossing, watch_remove, watch_set
from realtime.models import Event
from realtime.schemas import TRADE_OPENED, TRADE_SETTLED
from trading.trades.models import Trade, TradeSide, TradeStatus
from trading.trades.services import _no_result_subscription

logger = logging.getLogger(__name__)

EXPIRY_TASK = "trading.tasks.settle_expired_trades"
LEVELS_TASK = "trading.tasks.settle_crossed_levels"
# How long the dedupe key of a scheduled second outlives its ETA.
_KEY_SLACK_SECONDS = 300


def _key(second: datetime) -> str:
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    name = f"settle:expiry:{int(second.timestamp())}"
    return f"{prefix}:{name}" if prefix else name


def expiry_second(expires_at: datetime) -> datetime:
    return expires_at.astimezone(UTC).replace(microsecond=0)


def expiry_eta(second: datetime) -> datetime:
    """When the task for trades expiring within `second` runs: when that
    second is over (its last tick is the settlement price of every expiry in
    it) plus `SETTLE_AT_EXPIRY_DELAY` for the feed to write it."""
    return second + timedelta(seconds=1 + settings.SETTLE_AT_EXPIRY_DELAY)


def expiry_schedule(*, expires_at: datetime, now: datetime | None = None) -> bool:
    """Send the expiry task of `expires_at`'s second unless it was sent or is
    beyond the horizon. True if this call sent it. Never raises: a lost send
    leaves the trade to the minute sweep."""
    from celery import current_app

    now = now or timezone.now()
    second = expiry_second(expires_at)
    eta = expiry_eta(second)
    ahead = (eta - now).total_seconds()
    if ahead > settings.SETTLE_SCHEDULE_HORIZON_SECONDS:
        return False
    key = _key(second)
    try:
        client = redis_client()
        if not client.set(key, "1", nx=True, ex=max(1, math.ceil(ahead)) + _KEY_SLACK_SECONDS):
            return False  # another opener (or the scheduler) sent it
    except redis.RedisError:
        logger.warning(
            "expiry task for %s not scheduled: Redis unavailable", second.isoformat(), exc_info=True
        )
        return False
    try:
        with _no_result_subscription():
            current_app.send_task(EXPIRY_TASK, args=[second.isoformat()], eta=eta)
    except Exception:
        logger.exception(
            "expiry task for %s lost; the minute sweep will settle its trades", second.isoformat()
        )
        try:
            client.delete(key)
        except redis.RedisError:
            pass
        return False
    return True


def expiries_schedule_upcoming(*, now: datetime | None = None) -> int:
    """Send the expiry tasks of open trades expiring within the horizon
    (`trading.tasks.schedule_expiry_settlements`, every minute); returns how
    many were sent (seconds already sent are skipped). One index range scan
    on open trades by expiry."""
    now = now or timezone.now()
    horizon = now + timedelta(seconds=settings.SETTLE_SCHEDULE_HORIZON_SECONDS)
    seconds = (
        Trade.objects.filter(status=TradeStatus.OPEN, expires_at__gt=now, expires_at__lte=horizon)
        .annotate(second=Trunc("expires_at", "second", tzinfo=UTC))
        .values_list("second", flat=True)
        .distinct()
        .order_by("second")
    )
    return sum(expiry_schedule(expires_at=second, now=now) for second in seconds)


# --- levels ----------------------------------------------------------------------


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def trade_triggers(
    *, side: str, take_profit: Decimal | None, stop_loss: Decimal | None, liquidation: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """(below, above): the price at or under which, and at or over which, one
    of the trade's levels is reached (`trading.pnl.price_hits`' rules)."""
    liquidation = liquidation if liquidation is not None and liquidation > 0 else None
    if side == TradeSide.BUY:
        falling = [level for level in (stop_loss, liquidation) if level is not None]
        return (max(falling) if falling else None), take_profit
    rising = [level for level in (stop_loss, liquidation) if level is not None]
    return take_profit, (min(rising) if rising else None)


def trade_watch(data: dict[str, Any]) -> None:
    """Put an open trade (its event data) into the price watches. Raises Redis errors."""
    below, above = trade_triggers(
        side=data["side"],
        take_profit=_decimal(data.get("take_profit")),
        stop_loss=_decimal(data.get("stop_loss")),
        liquidation=_decimal(data.get("liquidation_price")),
    )
    if below is None and above is None:
        return
    watch_set(symbol=data["instrument"], member=str(data["id"]), below=below, above=above)


def levels_crossed_enqueue(crossing: Crossing) -> None:
    """The feed's price-watch listener: send the level task for the trades a
    tick crossed (the feed throttles per symbol). Quick, never raises."""
    from celery import current_app

    ticks = [[at.isoformat(), str(price)] for at, price in crossing.ticks]
    try:
        with _no_result_subscription():
            current_app.send_task(LEVELS_TASK, args=[crossing.symbol, ticks, sorted(crossing.members)])
    except Exception:
        logger.exception("level task for %s lost; the minute sweep will settle its trades", crossing.symbol)


def trade_watches_prune(*, symbol: str, trade_ids: list[int], through: datetime) -> int:
    """Remove the watches of `trade_ids` that can no longer close at a level:
    not open any more, or expired by `through` (every tick up to it was
    judged). Returns how many were removed."""
    live = set(
        Trade.objects.filter(pk__in=trade_ids, status=TradeStatus.OPEN, expires_at__gt=through).values_list(
            "pk", flat=True
        )
    )
    gone = [str(pk) for pk in trade_ids if pk not in live]
    try:
        watch_remove(symbol=symbol, members=gone)
    except redis.RedisError:
        logger.warning("price watches of %s not pruned: Redis unavailable", symbol, exc_info=True)
        return 0
    return len(gone)


# --- the after-commit listener ---------------------------------------------------


def trade_events_committed(events: Sequence[Event]) -> None:
    """realtime's after-commit listener: schedule each opened trade's expiry
    and watch its levels; forget the watches of settled trades. Quick (Redis
    round trips, a broker send for the first trade of an expiry second);
    never raises."""
    settled: dict[str, list[str]] = defaultdict(list)
    for event in events:
        data = event.data
        if event.event == TRADE_OPENED:
            try:
                trade_watch(data)
            except redis.RedisError:
                logger.warning("levels of trade %s not watched: Redis unavailable", data.get("id"))
            if data.get("expires_at"):
                expiry_schedule(expires_at=datetime.fromisoformat(data["expires_at"]))
        elif event.event == TRADE_SETTLED:
            settled[data["instrument"]].append(str(data["id"]))
    for symbol, members in settled.items():
        try:
            watch_remove(symbol=symbol, members=members)
        except redis.RedisError:
            logger.warning("watches of %s settled trades not removed: Redis unavailable", len(members))
