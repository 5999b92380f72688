"""Django admin of the trading app; each feature registers its own."""

from trading.plans import admin as plans_admin  # noqa: F401 - registers PlanAdmin
from trading.trades import admin as trades_admin  # noqa: F401 - registers TradeAdmin
