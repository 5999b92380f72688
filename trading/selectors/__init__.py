"""Read-side queries of the trading app, one module per area
(`instruments`, `bars`; trades and plans add their own)."""
