"""Trade arithmetic: quantity, fees, profit and loss, liquidation. Pure functions.

A trade buys (long) or sells short a quantity of an instrument worth its stake
at the entry price; nothing is leveraged, so:

- quantity = stake / entry, rounded DOWN to the instrument's quantity scale
  (a trade never holds more than its stake paid for);
- P&L long = qty x (exit - entry), short = qty x (entry - exit), rounded to
  the currency's scale half-to-even (banker's rounding, the project's decimal
  context), then floored at -stake: a loss never exceeds the stake;
- fee = fee rate x stake, charged once when the trade opens and once when it
  closes, each rounded half-up to the currency's scale (a fee of half a cent
  or more is a cent); the closing fee is capped at what is left of the stake
  (stake + P&L), so a settlement never takes a user account below zero;
- the liquidation price is where the loss reaches the stake: for a long trade
  entry - stake/qty (about zero, since qty = stake/entry), for a short trade
  entry + stake/qty (about twice the entry). A trade whose price reaches it is
  closed at that price with P&L = -stake.

Every function takes and returns `Decimal`; nothing here touches the
database. `docs/trading.md` works one example through to the cent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum

BPS = Decimal(10_000)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


def _quantum(scale: int) -> Decimal:
    return Decimal(1).scaleb(-scale)


def trade_quantity(*, stake: Decimal, entry: Decimal, quantity_scale: int) -> Decimal:
    """How much `stake` buys at `entry`, rounded down to the quantity scale."""
    if entry <= 0:
        raise ValueError("entry price must be positive")
    return (stake / entry).quantize(_quantum(quantity_scale), rounding=ROUND_DOWN)


def trade_fee(*, stake: Decimal, fee_bps: int, money_scale: int) -> Decimal:
    """The fee charged on one side (open or close) of a trade of `stake`."""
    return (stake * Decimal(fee_bps) / BPS).quantize(_quantum(money_scale), rounding=ROUND_HALF_UP)


def trade_pnl(
    *, side: Side | str, quantity: Decimal, entry: Decimal, exit: Decimal, stake: Decimal, money_scale: int
) -> Decimal:
    """Realised P&L of closing at `exit`, never below -stake."""
    move = exit - entry if Side(side) is Side.BUY else entry - exit
    pnl = (quantity * move).quantize(_quantum(money_scale), rounding=ROUND_HALF_EVEN)
    if pnl.is_zero():
        pnl = pnl.copy_abs()  # a loss that rounds to nothing is 0.00, not "-0.00" (events, e-mails)
    return max(pnl, -stake)


def closing_fee(*, stake: Decimal, pnl: Decimal, fee_bps: int, money_scale: int) -> Decimal:
    """The close-side fee, capped at what the trade still holds (stake + pnl >= 0)."""
    return min(trade_fee(stake=stake, fee_bps=fee_bps, money_scale=money_scale), stake + pnl)


def liquidation_price(
    *, side: Side | str, quantity: Decimal, entry: Decimal, stake: Decimal, price_scale: int
) -> Decimal:
    """The price at which the loss reaches the whole stake.

    Rounded towards the entry (up for a long, down for a short) so that the
    trade is liquidated no later than the price where its loss is the stake.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    distance = stake / quantity
    if Side(side) is Side.BUY:
        return max(Decimal(0), (entry - distance).quantize(_quantum(price_scale), rounding=ROUND_HALF_UP))
    return (entry + distance).quantize(_quantum(price_scale), rounding=ROUND_DOWN)


@dataclass(frozen=True, slots=True)
class Settlement:
    """The money of closing a trade: what `wallets.services.wallet_settle` is given."""

    exit_price: Decimal
    pnl: Decimal
    fee: Decimal


def trade_settlement(
    *,
    side: Side | str,
    quantity: Decimal,
    entry: Decimal,
    exit: Decimal,
    stake: Decimal,
    fee_bps: int,
    money_scale: int,
) -> Settlement:
    """P&L and closing fee of closing at `exit`."""
    pnl = trade_pnl(
        side=side, quantity=quantity, entry=entry, exit=exit, stake=stake, money_scale=money_scale
    )
    fee = closing_fee(stake=stake, pnl=pnl, fee_bps=fee_bps, money_scale=money_scale)
    return Settlement(exit_price=exit, pnl=pnl, fee=fee)


def price_hits(
    *,
    side: Side | str,
    price: Decimal,
    take_profit: Decimal | None,
    stop_loss: Decimal | None,
    liquidation: Decimal | None,
) -> tuple[str, Decimal] | None:
    """Which exit `price` triggers, as (close reason, exit price), or None.

    Liquidation is checked first (it is the worst case and bounds the loss),
    then stop-loss, then take-profit. The exit price is the trigger level,
    not `price`: an order resting at that level would have filled there.
    """
    long = Side(side) is Side.BUY
    if liquidation is not None and (price <= liquidation if long else price >= liquidation):
        return "liquidation", liquidation
    if stop_loss is not None and (price <= stop_loss if long else price >= stop_loss):
        return "stop_loss", stop_loss
    if take_profit is not None and (price >= take_profit if long else price <= take_profit):
        return "take_profit", take_profit
    return None
