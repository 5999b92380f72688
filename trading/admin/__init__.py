"""Django admin of the trading app: trades and plans (`trades`)."""

from trading.admin import trades  # noqa: F401 - the module registers its admin
