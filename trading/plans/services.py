"""Writers of auto-trading plans: create, run (the hourly trade), mature, cancel.

Money: `plan_create` reserves the principal (available -> reserved). A plan
trade is funded from that reserve and its settlement goes back into it
(`trading.trades.services`). `plan_mature` / `plan_cancel` close the plan's
open trades at the current price and release the whole reserve, so the owner
gets principal + realised P&L - fees back in available, to the cent.

Lock order: the plan row first, then its trades, then ledger accounts.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.notifications import EmailKind, notify_emails
from core import idempotency
from core.errors import NotFound
from market.calendars import market_is_open
from market.models import Instrument
from market.prices import price_latest
from realtime.schemas import PLAN_MATURED, PLAN_STARTED
from trading.locks import plan_lock, trade_lock
from trading.notifications import plan_matured_mail
from trading.plans.events import plan_publish
from trading.plans.models import Plan, PlanStatus, PlanStrategy
from trading.plans.strategies import strategy_signal
from trading.trades.errors import PriceUnavailable, TradeInputInvalid, TradeInvalid, TradeNotAllowed
from trading.trades.models import CloseReason, Trade, TradeSource, TradeStatus
from trading.trades.services import trade_open_locked, trade_settle_locked
from wallets.errors import InsufficientFunds
from wallets.services import wallet_release, wallet_reserve

logger = logging.getLogger(__name__)

MAX_TERM_DAYS = 365
# A plan trade lives at most this long (or the instrument's maximum, if shorter).
PLAN_TRADE_DURATION = timedelta(hours=24)


def _reference(plan: Plan) -> str:
    return f"plan:{plan.pk}"


def plan_create(
    *,
    user: AbstractBaseUser,
    instrument: Any,
    strategy: str,
    principal: Decimal,
    trade_fraction: Decimal,
    term_days: int,
    idempotency_key: str,
) -> tuple[Plan, bool]:
    """Start a plan and reserve its principal; returns (plan, created).

    `principal` comes from `wallets.money.parse_amount`. Refuses with
    `InsufficientFunds` when the principal is not available (nothing written)."""
    idempotency.key_check(idempotency_key)
    fingerprint = idempotency.fingerprint(
        instrument=instrument, strategy=strategy, principal=principal, fraction=trade_fraction, term=term_days
    )
    existing = Plan.objects.filter(user_id=user.pk, idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, fingerprint), False
    inst = (
        Instrument.objects.filter(symbol=instrument, active=True).first()
        if isinstance(instrument, str)
        else None
    )
    if inst is None:
        raise TradeInvalid(f"Unknown or inactive instrument {instrument!r}.", field="instrument")
    if strategy not in PlanStrategy.values:
        raise TradeInputInvalid(
            f"Strategy must be one of: {', '.join(PlanStrategy.values)}.", field="strategy"
        )
    if not isinstance(trade_fraction, Decimal) or not Decimal(0) < trade_fraction <= 1:
        raise TradeInputInvalid("The trade fraction must be above 0 and at most 1.", field="trade_fraction")
    if trade_fraction != trade_fraction.quantize(Decimal("0.0001")):
        raise TradeInputInvalid("At most 4 decimal places for the trade fraction.", field="trade_fraction")
    if isinstance(term_days, bool) or not isinstance(term_days, int) or not 1 <= term_days <= MAX_TERM_DAYS:
        raise TradeInputInvalid(f"The term must be 1 to {MAX_TERM_DAYS} days.", field="term_days")
    if principal * trade_fraction < inst.min_stake:
        raise TradeInvalid(
            f"Each trade would stake less than the minimum {inst.min_stake}.", field="trade_fraction"
        )
    now = timezone.now()
    plan = Plan(
        user_id=user.pk,
        instrument=inst,
        strategy=strategy,
        currency=inst.quote_currency,
        principal=principal,
        trade_fraction=trade_fraction,
        term_days=term_days,
        reserve=principal,
        started_at=now,
        ends_at=now + timedelta(days=term_days),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint,
    )
    try:
        with transaction.atomic():
            plan.save()
            wallet_reserve(
                user=user,
                amount=principal,
                currency=plan.currency,
                reference=_reference(plan),
                idempotency_key=f"{_reference(plan)}:principal",
            )
            plan_publish(plan, PLAN_STARTED)
    except IntegrityError:
        existing = Plan.objects.filter(user_id=user.pk, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint), False
    except InsufficientFunds as exc:
        raise InsufficientFunds("Not enough available balance for the principal.", field="principal") from exc
    return plan, True


def _replay(existing: Plan, fingerprint: str) -> Plan:
    idempotency.replay_check(stored=existing.request_fingerprint, fingerprint=fingerprint, what="a plan")
    return existing


def plan_run(*, plan_id: int, closes: Sequence[Decimal], now: datetime) -> Trade | None:
    """The hourly step of one plan: open at most one trade when its market is
    open and its strategy signals. Idempotent per hour (the trade's key is the
    plan and the hour), so a second run in the same hour opens nothing."""
    with transaction.atomic():
        plan = plan_lock(plan_id=plan_id)
        if plan.status != PlanStatus.ACTIVE or now >= plan.ends_at:
            return None
        plan.last_run_at = now
        signal = strategy_signal(plan.strategy, closes)
        plan.last_signal = signal.value if signal else ""
        hour = now.replace(minute=0, second=0, microsecond=0)
        key = f"plan:{plan.pk}:{hour.isoformat()}"
        stake = min(
            (plan.principal * plan.trade_fraction).quantize(Decimal("0.01")),
            plan.instrument.max_stake,
        )
        fee_room = stake * plan.instrument.fee_bps / Decimal(10_000) + Decimal("0.01")
        if (
            signal is None
            or not market_is_open(plan.instrument, now)
            or plan.reserve < stake + fee_room
            or Trade.objects.filter(user_id=plan.user_id, idempotency_key=key).exists()
        ):
            plan.save()
            return None
        trade = Trade.objects.create(
            user_id=plan.user_id,
            instrument=plan.instrument,
            plan=plan,
            side=signal.value,
            source=TradeSource.PLAN,
            currency=plan.currency,
            stake=stake,
            duration=min(PLAN_TRADE_DURATION, plan.instrument.max_trade_duration),
            task_id=str(uuid.uuid4()),
            idempotency_key=key,
            request_fingerprint=idempotency.fingerprint(plan=plan.pk, hour=hour),
        )
        trade.user = plan.user
        try:
            trade_open_locked(trade, now=now, plan=plan)
        except PriceUnavailable:
            # No fresh price this hour: no trade (the whole step rolls back).
            transaction.set_rollback(True)
            return None
        plan.save()
        return trade


def _plan_end(*, plan_id: int, user: AbstractBaseUser | None, status: str, reason: str) -> Plan:
    """Close the plan's open trades at the current price and release its reserve."""
    with transaction.atomic():
        try:
            plan = plan_lock(plan_id=plan_id)
        except Plan.DoesNotExist:
            raise NotFound("No such plan.") from None
        if user is not None and plan.user_id != user.pk:
            raise NotFound("No such plan.")
        if plan.status != PlanStatus.ACTIVE:
            if user is not None:
                raise TradeNotAllowed(f"This plan is already {plan.status}.")
            return plan
        now = timezone.now()
        open_ids = list(
            plan.trades.filter(status__in=[TradeStatus.OPEN, TradeStatus.QUEUED])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if open_ids:
            quote = price_latest(plan.instrument.symbol, now=now)
            if quote.price is None or quote.stale:
                raise PriceUnavailable(f"No fresh price for {plan.instrument} to close the plan's trades.")
            exit_price = quote.price.quantize(plan.instrument.price_quantum)
            for trade_id in open_ids:
                trade = trade_lock(trade_id=trade_id)
                if trade.status == TradeStatus.OPEN:
                    trade_settle_locked(trade, exit_price=exit_price, reason=reason, at=now, plan=plan)
        returned = plan.reserve
        if returned > 0:
            wallet_release(
                user=plan.user,
                amount=returned,
                currency=plan.currency,
                reference=_reference(plan),
                idempotency_key=f"{_reference(plan)}:end",
            )
        plan.reserve = Decimal(0)
        plan.returned = returned
        plan.status = status
        plan.ended_at = now
        plan.save()
        plan_publish(plan, PLAN_MATURED)
        if status == PlanStatus.MATURED:  # a cancelled plan was the user's own doing
            notify_emails(kind=EmailKind.MATURITY, mails=[plan_matured_mail(plan)])
        return plan


def plan_mature(*, plan_id: int) -> Plan:
    """End a plan at its term (the daily task). A plan already ended is returned unchanged."""
    return _plan_end(plan_id=plan_id, user=None, status=PlanStatus.MATURED, reason=CloseReason.PLAN_MATURITY)


def plan_cancel(*, user: AbstractBaseUser, plan_id: int) -> Plan:
    """The owner ends a plan early; publishes `plan.matured` with status `cancelled`."""
    return _plan_end(
        plan_id=plan_id, user=user, status=PlanStatus.CANCELLED, reason=CloseReason.PLAN_CANCELLED
    )
