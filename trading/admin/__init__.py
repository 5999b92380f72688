"""Django admin of the trading app, one module per area (`market`; trades and
plans add theirs and one import line here)."""

from trading.admin import market  # noqa: F401 - registers the market data admin
