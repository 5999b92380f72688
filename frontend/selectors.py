"""Reads the page views need, from the apps that own the data (market,
trading, realtime): this module only adapts their answers to pages.

A trade of another user is a 404, the same as a trade that does not exist,
so ids reveal nothing.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404, QueryDict

from market.selectors.instruments import instrument_list, market_closed_label
from realtime.selectors import event_last_seq
from trading.portfolio.selectors import Portfolio
from trading.portfolio.selectors import portfolio_of as _portfolio_of
from trading.portfolio.serializers import DEFAULT_CURRENCY
from trading.trades.api import TRADE_ORDERINGS, TradeCursorPagination, TradeFilter
from trading.trades.models import Trade
from trading.trades.selectors import trade_get, trade_list

__all__ = [
    "event_last_seq",
    "instrument_choices",
    "instrument_list",
    "portfolio_of",
    "trade_of_user",
    "trades_filtered",
]


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


def portfolio_of(*, user_id: int) -> Portfolio:
    """The user's portfolio in the wallet's currency, for the dashboard's card."""
    return _portfolio_of(user_id=user_id, currency=DEFAULT_CURRENCY)


def trade_of_user(*, user_id: int, trade_id: int) -> Trade:
    trade = trade_get(user_id=user_id, trade_id=trade_id)
    if trade is None:
        raise Http404("No such trade.")
    return trade


@dataclass(frozen=True)
class FilteredTrades:
    trades: QuerySet[Trade]
    errors: dict[str, Any]


def trades_filtered(*, user_id: int, query: QueryDict) -> FilteredTrades:
    """The user's trades through the API list's own filters and sort orders
    (`trading.trades.api.TradeFilter`), so the page, the API and the CSV agree
    on what a query string selects. Only ever the user's own trades: the
    filter set is given their rows, whatever `user` the query names."""
    filters = TradeFilter(query, queryset=trade_list(user_id=user_id))
    if not filters.is_valid():
        return FilteredTrades(trades=Trade.objects.none(), errors=dict(filters.errors))
    ordering = TRADE_ORDERINGS.get(query.get("ordering") or "", TradeCursorPagination.ordering)
    return FilteredTrades(trades=filters.qs.order_by(*ordering), errors={})
