"""Read-side queries of the market app: `instruments` and `bars`."""
