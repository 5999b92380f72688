"""Live prices to the ticker groups.

The market feed calls `publish_tick` for every tick it lets through (it
coalesces to `TICKER_MAX_RATE` per symbol on its side). Ticks are not events:
they are not stored, have no seq and are not resumed; a client that missed
one simply gets the next.
"""

from datetime import datetime
from decimal import Decimal

from realtime.groups import ticker_group
from realtime.layer import layer_group_send


def tick_message(*, symbol: str, price: Decimal, at: datetime) -> dict[str, str]:
    if not isinstance(price, Decimal):
        raise TypeError("price must be a Decimal")
    return {"type": "tick", "symbol": symbol, "price": str(price), "time": at.isoformat()}


def publish_tick(*, symbol: str, price: Decimal, at: datetime) -> None:
    """Send one tick to group `ticker.<SYMBOL>` (frame: type, symbol, price as a string, ISO time)."""
    message = tick_message(symbol=symbol, price=price, at=at)
    layer_group_send(group=ticker_group(symbol), message=message, wait=False)
