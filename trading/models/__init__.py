"""Models of the trading app, one module per area; this package re-exports them.

Market data lives in `instruments.py` and `bars.py`; trades and plans add
their own modules here and one import line each below.
"""

from trading.models.bars import Bar, PriceTick
from trading.models.instruments import AssetClass, CalendarKind, FeedSource, Instrument

__all__ = ["AssetClass", "Bar", "CalendarKind", "FeedSource", "Instrument", "PriceTick"]
