"""Where Django finds the trading app's models; each feature owns its own
(`trading/trades/models.py`, `trading/plans/models.py`). Import them from
there, not from here."""

from trading.plans.models import Plan
from trading.portfolio.models import EquitySnapshot
from trading.trades.models import Trade

__all__ = ["EquitySnapshot", "Plan", "Trade"]
