"""Refusals and transient conditions of the trade lifecycle.

Two families, because the initiation task treats them differently:

- Every other `DomainError` (the input errors here, a wallet's
  `InsufficientFunds`, ...): a business rule said no. Final: the trade
  becomes `rejected` with the error's `code`.
- `TransientTradeError`: the world was not ready (no fresh price, a broker
  or database hiccup). The task retries; after the last retry the trade
  becomes `failed` (or `rejected: stale_price` for a price that never came).
"""

from typing import Any

from core.errors import Conflict, DomainError, NotFound

__all__ = ["Conflict", "NotFound"]


class TradeInvalid(DomainError):
    """A trade or plan request refused by a rule of the instrument or the
    platform's state (422); `field` names what is wrong."""

    code = "invalid"


class TradeInputInvalid(TradeInvalid):
    """Trade or plan input that breaks a rule the schema states (a 400, as
    the serializers answer it): found again by the services, whose callers
    are not only the serializers."""

    http_status = 400


class DurationOutOfRange(TradeInvalid):
    """A duration beyond the instrument's range (422). Carries the range in
    seconds and the instrument, so a page can say it in its own unit."""

    def __init__(self, message: str, *, field: str, instrument: Any, low_seconds: int, high_seconds: int):
        super().__init__(message, field=field)
        self.instrument = instrument
        self.low_seconds = low_seconds
        self.high_seconds = high_seconds


class TradeNotAllowed(Conflict):
    """The trade's state forbids the action (e.g. cancelling an open trade)."""

    code = "invalid_state"


class TransientTradeError(Exception):
    """Worth retrying: nothing was written."""

    code = "transient"


class PriceUnavailable(TransientTradeError, DomainError):
    """No fresh price for the instrument (missing or older than PRICE_STALE_AFTER)."""

    code = "stale_price"
    http_status = 503
