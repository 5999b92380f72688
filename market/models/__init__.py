"""Models of the market app. The tables were created by the trading app and
keep its names (`Meta.db_table`); market/migrations/0001 only took over the
model state (docs/architecture.md, "Tables keep their names")."""

from market.models.bars import Bar, HourBar, PriceTick
from market.models.instruments import AssetClass, CalendarKind, FeedSource, Instrument

__all__ = ["AssetClass", "Bar", "CalendarKind", "FeedSource", "HourBar", "Instrument", "PriceTick"]
