"""Celery tasks of the trade lifecycle (names and schedule: docs/architecture.md).

Tasks are thin: they take ids, call services and declare their retry policy.
Every task is safe to deliver twice and to run twice at once: the services
check state under a row lock before acting. The app-wide settings give every
task `acks_late` and `reject_on_worker_lost`, so a worker killed mid-task
gives its message back and another worker redelivers it.

`initiate_manual_trade` retry policy: only transient errors are retried (a
database operational/interface error, no fresh price, a broker or Redis
hiccup), at most `TRADE_MAX_RETRIES` (3) times after
`TRADE_RETRY_BASE_SECONDS` (30) x 2^(n-1) seconds with 50-100 % jitter. The
attempt count lives on the trade row, so duplicate deliveries cannot buy
extra retries. Business refusals are final inside `trade_open` (`rejected`).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import DomainError
from realtime.services import event_prune
from trading.plans.selectors import plan_closes, plans_active, plans_due
from trading.plans.services import plan_mature, plan_run
from trading.portfolio.services import equity_snapshot_take
from trading.trades.errors import PriceUnavailable
from trading.trades.models import Trade, TradeStatus
from trading.trades.schedule import expiries_schedule_upcoming, trade_watches_prune
from trading.trades.services import retry_countdown, trade_attempt_failed, trade_open, trade_queued_sweep
from trading.trades.settlement import trades_settle_due, trades_settle_expired, trades_settle_levels

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (
    PriceUnavailable,
    OperationalError,
    InterfaceError,
    BrokerError,
    RedisConnectionError,
    RedisTimeoutError,
)


def _error_code(exc: BaseException) -> str:
    if isinstance(exc, PriceUnavailable):
        return exc.code
    if isinstance(exc, (OperationalError, InterfaceError)):
        return "database_error"
    return "broker_error"


@shared_task(bind=True, name="trading.tasks.initiate_manual_trade", max_retries=None)
def initiate_manual_trade(self: Any, trade_id: int) -> str:
    """Open a queued trade; returns the trade's status (or `retrying`)."""
    try:
        return trade_open(trade_id=trade_id).status
    except TRANSIENT_ERRORS as exc:
        try:
            decision = trade_attempt_failed(trade_id=trade_id, code=_error_code(exc), reason=str(exc))
        except (OperationalError, InterfaceError):
            # The database cannot even record the attempt: fall back on the
            # message's own retry count so the bound still holds.
            logger.warning(
                "trade %s: attempt not recorded (database unavailable); message retry %s",
                trade_id,
                self.request.retries + 1,
                extra={"trade_id": trade_id, "code": "database_error", "attempt": self.request.retries + 1},
            )
            if self.request.retries >= settings.TRADE_MAX_RETRIES:
                raise
            raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries + 1)) from exc
        if decision.retry:
            raise self.retry(exc=exc, countdown=decision.countdown) from exc
        return "given_up"


@shared_task(name="trading.tasks.process_completed_trades")
def process_completed_trades() -> dict[str, int]:
    report = trades_settle_due()
    return {"settled": report.settled, "waiting": report.waiting, "errors": report.errors}


@shared_task(bind=True, name="trading.tasks.settle_expired_trades", max_retries=None, ignore_result=True)
def settle_expired_trades(self: Any, second: str) -> dict[str, int]:
    """Sent at open with an ETA just after the expiry `second` (ISO 8601)
    ends (trading/trades/schedule.py): settle every trade due by now in
    batches. While trades of that second still wait for the feed to record
    their expiry price, try again shortly (0.2 s doubling, capped at 2 s) for
    `SETTLE_AT_EXPIRY_RETRY_SECONDS`; after that the minute sweep has them."""
    report = trades_settle_expired()
    start = datetime.fromisoformat(second)
    end = start + timedelta(seconds=1)
    left = Trade.objects.filter(status=TradeStatus.OPEN, expires_at__gte=start, expires_at__lt=end).exists()
    if left and (timezone.now() - end).total_seconds() < settings.SETTLE_AT_EXPIRY_RETRY_SECONDS:
        raise self.retry(countdown=min(0.2 * 2**self.request.retries, 2.0))
    if left:
        logger.warning("trades expiring at %s still open; left to the minute sweep", second)
    return {"settled": report.settled, "waiting": report.waiting, "errors": report.errors}


@shared_task(name="trading.tasks.settle_crossed_levels", ignore_result=True)
def settle_crossed_levels(symbol: str, ticks: list[list[str]], members: list[str]) -> dict[str, int]:
    """Sent by the feed when `ticks` ([at, price] pairs) crossed a level of
    the trades `members` (their ids, from the price watches): settle those
    whose level a tick reached, at the level; then drop the watches of trades
    that can no longer close at one."""
    points = [(datetime.fromisoformat(at), Decimal(price)) for at, price in ticks]
    trade_ids = [int(member) for member in members if member.isdigit()]
    report = trades_settle_levels(symbol=symbol, points=points, trade_ids=trade_ids)
    through = max((at for at, _ in points), default=timezone.now())
    pruned = trade_watches_prune(symbol=symbol, trade_ids=trade_ids, through=through)
    return {"settled": report.settled, "errors": report.errors, "pruned": pruned}


@shared_task(name="trading.tasks.schedule_expiry_settlements", ignore_result=True)
def schedule_expiry_settlements() -> dict[str, int]:
    """Every minute: send the expiry tasks of trades expiring within
    `SETTLE_SCHEDULE_HORIZON_SECONDS` that opening did not send (too far
    ahead then)."""
    return {"scheduled": expiries_schedule_upcoming()}


@shared_task(name="trading.tasks.auto_initiate_daily_trades")
def auto_initiate_daily_trades() -> dict[str, int]:
    """The hourly step of every active plan: at most one trade each."""
    now = timezone.now()
    opened = skipped = errors = 0
    for plan in plans_active(now=now).select_related("instrument"):
        try:
            trade = plan_run(
                plan_id=plan.pk, closes=plan_closes(instrument_id=plan.instrument_id, now=now), now=now
            )
        except (DomainError, *TRANSIENT_ERRORS):
            logger.exception("plan %s: hourly step failed; it runs again next hour", plan.pk)
            errors += 1
            continue
        if trade is not None and trade.status == TradeStatus.OPEN:
            opened += 1
        else:
            skipped += 1
    return {"opened": opened, "skipped": skipped, "errors": errors}


@shared_task(name="trading.tasks.check_investment_maturity")
def check_investment_maturity() -> dict[str, int]:
    """Mature every plan past its term. A plan that cannot close now (no fresh
    price) stays active and is tried again at the next run."""
    matured = errors = 0
    for plan_id in plans_due(now=timezone.now()).values_list("pk", flat=True):
        try:
            plan_mature(plan_id=plan_id)
        except (DomainError, *TRANSIENT_ERRORS):
            logger.exception("plan %s: maturity postponed", plan_id)
            errors += 1
            continue
        matured += 1
    return {"matured": matured, "errors": errors}


@shared_task(name="trading.tasks.cleanup_failed_trades")
def cleanup_failed_trades() -> dict[str, int]:
    """Fail stuck queued trades, re-enqueue lost ones, prune old records."""
    now = timezone.now()
    failed, requeued = trade_queued_sweep(now=now)
    cutoff = now - timedelta(days=settings.TRADE_RETENTION_DAYS)
    pruned, _ = Trade.objects.filter(
        status__in=[TradeStatus.REJECTED, TradeStatus.FAILED, TradeStatus.CANCELLED], updated_at__lt=cutoff
    ).delete()
    events = event_prune(older_than=now - settings.EVENT_RETENTION)
    return {"failed": failed, "requeued": requeued, "pruned_trades": pruned, "pruned_events": events}


@shared_task(name="trading.tasks.sweep_queued_trades")
def sweep_queued_trades() -> dict[str, int]:
    """The sweeper alone, for a tighter schedule than the daily cleanup."""
    failed, requeued = trade_queued_sweep()
    return {"failed": failed, "requeued": requeued}


@shared_task(name="trading.tasks.snapshot_portfolios", ignore_result=True)
def snapshot_portfolios() -> dict[str, int]:
    """Today's equity snapshot of every user with a wallet, per kept currency
    (an upsert: a second run the same day rewrites that day's row)."""
    return {
        currency: equity_snapshot_take(currency=currency) for currency in sorted(settings.WALLET_CURRENCIES)
    }
