"""What a valid ticker symbol is, learned at start-up from the app that owns
instruments (trading registers it in its AppConfig.ready), so that realtime
never imports trading."""

from collections.abc import Callable

from realtime.groups import SYMBOL_RE

_symbol_lookup: Callable[[str], bool] | None = None


def register_symbol_lookup(fn: Callable[[str], bool]) -> None:
    global _symbol_lookup
    _symbol_lookup = fn


def symbol_is_valid(symbol: object) -> bool:
    """True if `symbol` is a well-formed symbol the registered lookup knows.

    With no lookup registered nothing is valid: a subscribe cannot name an
    arbitrary group."""
    if not isinstance(symbol, str) or not SYMBOL_RE.match(symbol):
        return False
    if _symbol_lookup is None:
        return False
    return bool(_symbol_lookup(symbol))
