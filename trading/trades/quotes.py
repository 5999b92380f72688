"""The quote of a trade request: what it would hold, buy and cost, now.

Writes nothing. The checks and the hold are `trade_request_check`'s, the
ones `trade_request` makes, so a quote's `total` is exactly what the request
holds a moment later at the same stake and fee rate; quantity, fees and
P&L come from `trading.pnl`, the functions the open and the settlement use.
What the quote cannot promise is the price: the trade opens at the mark of
its opening, which the worker reads later (docs/trading.md, "Quotes").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.utils import timezone

from core.errors import DomainError
from market.calendars import market_is_open, next_open
from market.prices import price_latest
from market.selectors.instruments import instrument_active
from trading import pnl as arithmetic
from trading.trades.errors import PriceUnavailable, TradeInvalid
from trading.trades.models import TradeSide
from trading.trades.services import trade_entry_price, trade_request_check
from wallets.money import currency_scale
from wallets.selectors import balances_of


@dataclass(frozen=True, slots=True)
class LevelOutcome:
    """P&L of the trade settled at a take-profit or stop-loss level."""

    price: Decimal
    pnl: Decimal
    closing_fee: Decimal
    net_pnl: Decimal


@dataclass(frozen=True, slots=True)
class TradeQuote:
    instrument: str
    side: str
    currency: str
    stake: Decimal
    duration: int
    price: Decimal | None
    price_at: datetime | None
    quantity: Decimal | None
    fee: Decimal
    closing_fee: Decimal
    total: Decimal
    max_loss: Decimal
    available: Decimal
    available_after: Decimal
    funds_sufficient: bool
    market_open: bool
    next_open: datetime | None
    take_profit: LevelOutcome | None
    stop_loss: LevelOutcome | None


def _available(user: AbstractBaseUser, currency: str) -> Decimal:
    for item in balances_of(user_id=user.pk):
        if item["currency"] == currency:
            return Decimal(item["available"])
    return Decimal(0).quantize(Decimal(1).scaleb(-currency_scale(currency)))


def trade_quote(
    *,
    user: AbstractBaseUser,
    instrument: Any,
    side: str,
    stake: Decimal,
    duration: int | None = None,
    take_profit: Any = None,
    stop_loss: Any = None,
    now: datetime | None = None,
) -> TradeQuote:
    """The quote of this request for `user`, or the refusal the request would get."""
    now = now or timezone.now()
    trade = trade_request_check(
        user=user,
        instrument=instrument,
        side=side,
        stake=stake,
        duration=duration,
        take_profit=take_profit,
        stop_loss=stop_loss,
    )
    inst = trade.instrument
    scale = currency_scale(trade.currency)
    try:
        is_open = market_is_open(inst, now)
        opens = None if is_open else next_open(inst, now)
    except DomainError:  # outside the calendar's range: nothing opens there
        is_open, opens = False, None

    quote = price_latest(inst.symbol, now=now)
    entry = quantity = None
    if quote.price is not None and not quote.stale:
        entry = trade_entry_price(inst, quote.price)
        quantity = arithmetic.trade_quantity(
            stake=trade.stake, entry=entry, quantity_scale=inst.quantity_scale
        )

    def outcome(level: Decimal | None) -> LevelOutcome | None:
        # Levels are only accepted against a fresh price (trade_request_check),
        # so a level here always has an entry and a quantity.
        if level is None or entry is None or quantity is None:
            return None
        settled = arithmetic.trade_settlement(
            side=trade.side,
            quantity=quantity,
            entry=entry,
            exit=level,
            stake=trade.stake,
            fee_bps=inst.fee_bps,
            money_scale=scale,
        )
        net = settled.pnl - trade.fee - settled.fee
        return LevelOutcome(price=level, pnl=settled.pnl, closing_fee=settled.fee, net_pnl=net)

    available = _available(user, trade.currency)
    return TradeQuote(
        instrument=inst.symbol,
        side=trade.side,
        currency=trade.currency,
        stake=trade.stake,
        duration=int(trade.duration.total_seconds()),
        price=entry,
        price_at=quote.at if entry is not None else None,
        quantity=quantity,
        fee=trade.fee,
        # At settlement the closing fee is the same rate on the stake, capped
        # only when the loss has eaten the stake (`pnl.closing_fee`).
        closing_fee=arithmetic.closing_fee(
            stake=trade.stake, pnl=Decimal(0), fee_bps=inst.fee_bps, money_scale=scale
        ),
        total=trade.held,
        # The loss never exceeds the stake, and a trade that loses it all pays
        # no closing fee: the worst case is the whole hold.
        max_loss=trade.held,
        available=available,
        available_after=available - trade.held,
        funds_sufficient=available >= trade.held,
        market_open=is_open,
        next_open=opens,
        take_profit=outcome(trade.take_profit),
        stop_loss=outcome(trade.stop_loss),
    )


_PERCENT = re.compile(r"\A[0-9]{1,4}(?:\.[0-9]{1,4})?\Z")
HUNDRED = Decimal(100)


def trade_level_from_percent(
    *, instrument: Any, side: str, level: str, percent: str, now: datetime | None = None
) -> Decimal:
    """The price `percent` % from the current mark on the level's side: a
    take-profit is above the entry for a buy and below it for a sell, a
    stop-loss the reverse. Rounded half to even to the instrument's price
    scale (the order ticket's script rounds the same way, `money.js`).
    Refusals name `level`, so the form shows them beside that field."""
    inst = instrument_active(instrument) if isinstance(instrument, str) else None
    if inst is None:
        raise TradeInvalid(f"Unknown or inactive instrument {instrument!r}.", field="instrument")
    if not _PERCENT.match(percent) or Decimal(percent) <= 0:
        raise TradeInvalid("Enter a percentage above 0, e.g. 2.5.", field=level)
    above = (level == "take_profit") == (side == TradeSide.BUY)
    if not above and Decimal(percent) >= HUNDRED:
        raise TradeInvalid("A level below the price must be less than 100% away.", field=level)
    quote = price_latest(inst.symbol, now=now)
    if quote.price is None or quote.stale:
        raise PriceUnavailable(f"No fresh price for {inst} to take the percentage of.", field=level)
    entry = trade_entry_price(inst, quote.price)
    factor = (HUNDRED + Decimal(percent)) / HUNDRED if above else (HUNDRED - Decimal(percent)) / HUNDRED
    return (entry * factor).quantize(inst.price_quantum, rounding=ROUND_HALF_EVEN)
