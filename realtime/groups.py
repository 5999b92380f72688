"""Channel-layer group names, in one place so the publisher and the consumer
can never disagree. Clients never name a group: the consumer derives them from
the authenticated user and from validated ticker symbols."""

import re

# Channels accepts group names of ASCII letters, digits, '-', '_' and '.'
# shorter than 100 characters; symbols are the subset the instruments use.
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,31}$")


def user_group(user_id: int) -> str:
    return f"user.{int(user_id)}"


def ticker_group(symbol: str) -> str:
    if not SYMBOL_RE.match(symbol):
        raise ValueError(f"not a ticker symbol: {symbol!r}")
    return f"ticker.{symbol}"
