"""DRF views of the trading app, one module per area (`market`; trades and
plans add their own). Routes are in `trading/api_urls.py`."""
