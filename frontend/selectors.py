"""Reads the page views need, from the apps that own the data (market,
trading, realtime): this module only adapts their answers to pages.

A trade of another user is a 404, the same as a trade that does not exist,
so ids reveal nothing.
"""

from django.http import Http404

from market.selectors.instruments import instrument_list
from realtime.selectors import event_last_seq
from trading.trades.models import Trade
from trading.trades.selectors import trade_get

__all__ = ["event_last_seq", "instrument_list", "trade_of_user"]


def trade_of_user(*, user_id: int, trade_id: int) -> Trade:
    trade = trade_get(user_id=user_id, trade_id=trade_id)
    if trade is None:
        raise Http404("No such trade.")
    return trade
