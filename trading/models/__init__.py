"""Models of the trading app, one module per area; this package re-exports them.

Market data lives in `instruments.py` and `bars.py`; trades and plans add
their own modules here and one import line each below.
"""

from trading.models.bars import Bar, HourBar, PriceTick
from trading.models.instruments import AssetClass, CalendarKind, FeedSource, Instrument
from trading.models.plans import Plan, PlanStatus, PlanStrategy
from trading.models.trades import CloseReason, Trade, TradeSide, TradeSource, TradeStatus

__all__ = [
    "AssetClass",
    "Bar",
    "CalendarKind",
    "CloseReason",
    "FeedSource",
    "HourBar",
    "Instrument",
    "Plan",
    "PlanStatus",
    "PlanStrategy",
    "PriceTick",
    "Trade",
    "TradeSide",
    "TradeSource",
    "TradeStatus",
]
