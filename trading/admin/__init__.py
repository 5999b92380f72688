"""Django admin of the trading app, one module per area (`market`; trades and
plans add theirs and one import line here)."""

from trading.admin import market, trades  # noqa: F401 - each module registers its admin
