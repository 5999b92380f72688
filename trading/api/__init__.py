"""DRF views of the trading app: `trades` and `plans`. Routes are in `trading/api_urls.py`."""
