"""The trade.* events: their schema and the functions that publish them.

Every trade.* event carries the full trade, exactly `trade_data(trade)` (the
API's `TradeSerializer` shape), so a client replaces what it shows with what
it receives. Registered with `realtime.schemas` in `TradingConfig.ready`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from realtime import schemas
from realtime.publish import PreparedBatch, Publication, publish, publish_many, publish_many_prepare
from trading.trades.models import Trade
from trading.trades.serializers import TRADE_FIELDS, trade_data

TRADE_EVENTS = (
    schemas.TRADE_QUEUED,
    schemas.TRADE_OPENED,
    schemas.TRADE_RETRYING,
    schemas.TRADE_REJECTED,
    schemas.TRADE_FAILED,
    schemas.TRADE_CANCELLED,
    schemas.TRADE_SETTLED,
)

# The schema of every trade.* event (realtime checks the data builds it): a
# dataclass, cheap to check per event, with exactly the serializer's fields.
TradeEventData = dataclasses.make_dataclass(
    "TradeEventData", [(name, Any) for name in TRADE_FIELDS], frozen=True
)


def trade_events_register() -> None:
    for event in TRADE_EVENTS:
        schemas.register(event, TradeEventData)


def trade_publish(trade: Trade, event: str) -> None:
    """Precondition: inside the transaction that changed the trade."""
    publish(user_id=trade.user_id, event=event, data=trade_data(trade))


def trades_settled_prepare(trades: Iterable[Trade]) -> PreparedBatch:
    """The `trade.settled` events of a settlement batch, built and checked
    (no database work): see `trades_settled_publish`."""
    return publish_many_prepare(
        [Publication(t.user_id, schemas.TRADE_SETTLED, trade_data(t)) for t in trades]
    )


def trades_settled_publish(prepared: PreparedBatch) -> None:
    """One `trade.settled` per trade, in one round trip (batch settlement).
    Precondition: inside the transaction that settled them."""
    publish_many(prepared)
