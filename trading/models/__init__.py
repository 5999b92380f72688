"""Models of the trading app, one module per area; this package re-exports them."""

from trading.models.plans import Plan, PlanStatus, PlanStrategy
from trading.models.trades import CloseReason, Trade, TradeSide, TradeSource, TradeStatus

__all__ = [
    "CloseReason",
    "Plan",
    "PlanStatus",
    "PlanStrategy",
    "Trade",
    "TradeSide",
    "TradeSource",
    "TradeStatus",
]
