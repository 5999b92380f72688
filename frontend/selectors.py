"""Reads the page views need, from the apps that own the data (market,
trading, realtime): this module only adapts their answers to pages.

A trade of another user is a 404, the same as a trade that does not exist,
so ids reveal nothing.
"""

from dataclasses import dataclass
from datetime import datetime

from django.http import Http404

from market.selectors.instruments import instrument_list, market_closed_label
from realtime.selectors import event_last_seq
from trading.trades.models import Trade
from trading.trades.selectors import trade_get

__all__ = ["event_last_seq", "instrument_choices", "instrument_list", "trade_of_user"]


@dataclass(frozen=True, slots=True)
class InstrumentChoice:
    symbol: str
    name: str
    closed: str | None  # "Closed · opens 09:30 EST", None while open
    selected: bool


def instrument_choices(*, at: datetime) -> list[InstrumentChoice]:
    """The active instruments for a form's select, each with its closed
    label; the first open one is selected, none when every market is closed
    (a closed market is never preselected: docs/decisions.md)."""
    rows = [(i, market_closed_label(instrument=i, at=at)) for i in instrument_list()]
    first_open = next((i.symbol for i, closed in rows if closed is None), None)
    return [
        InstrumentChoice(symbol=i.symbol, name=i.name, closed=closed, selected=i.symbol == first_open)
        for i, closed in rows
    ]


def trade_of_user(*, user_id: int, trade_id: int) -> Trade:
    trade = trade_get(user_id=user_id, trade_id=trade_id)
    if trade is None:
        raise Http404("No such trade.")
    return trade
