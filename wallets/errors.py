"""Refusals raised by the wallet services; `core.exceptions` maps them to HTTP."""

from core.errors import Conflict, DomainError, IdempotencyMismatch, InputInvalid, NotFound

__all__ = [
    "Conflict",
    "DepositLimitExceeded",
    "DomainError",
    "Forbidden",
    "IdempotencyMismatch",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidRequest",
    "NotFound",
    "UnknownCurrency",
]


class InvalidAmount(InputInvalid):
    """Money input the one validator (`wallets.money.parse_amount`) refused
    (the schema states its rule: a 400)."""

    code = "invalid_amount"


class UnknownCurrency(InputInvalid):
    code = "unknown_currency"


class InsufficientFunds(DomainError):
    """The posting would take a user account below zero; nothing was written.

    422: the request is well formed, the wallet cannot pay it (a trade, a
    withdrawal, a plan); the same request may succeed after a deposit."""

    code = "insufficient_funds"
    http_status = 422


class DepositLimitExceeded(DomainError):
    code = "deposit_limit_exceeded"


class Forbidden(DomainError):
    """The acting user may not do this (e.g. a non-staff user approving a withdrawal)."""

    code = "forbidden"
    http_status = 403


class InvalidRequest(DomainError):
    """A parameter a service cannot accept (bad reference, blank reason, ...)."""

    code = "invalid"
