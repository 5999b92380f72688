"""Idempotency: what a key is, how a request is fingerprinted, and what a
repeated key means, for every money-moving or trade-initiating request
(docs/architecture.md, "Idempotency").

- A key is 1 to `KEY_MAX_LENGTH` printable characters (`key_check`). The
  API reads it from the required `Idempotency-Key` header (`request_key`,
  documented by `idempotency_parameter`): without it a client's retry would
  create a second trade or move money twice. A header carries printable
  ASCII (`HEADER_PATTERN`: not only spaces, which a server strips), and the
  schema states exactly that rule, pattern and lengths.
- The same key from the same user returns the first result; the stored
  `fingerprint` of the first request's parameters tells a retry from a reuse
  with other parameters, which is a 422 (`replay_check`).

The fingerprint is the sha256 of the parameters as JSON with sorted keys:
`None` is JSON null and every other value its `str()`. Trades, plans and
wallets each had their own copy; only the trade's passed `None`, and its copy
already wrote null, so the fingerprints stored before the copies became one
still match.
"""

import hashlib
import json
import re
from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from core.errors import IdempotencyMismatch, InputInvalid

HEADER = "Idempotency-Key"
# The trade and plan columns hold 100 characters (the ledger's 255).
KEY_MAX_LENGTH = 100

# Printable ASCII with at least one visible character: HTTP servers strip the
# spaces around a header value, so a key of spaces only arrives empty. The
# same text is the schema's `pattern` (ECMA and Python regex alike).
HEADER_PATTERN = r"^[ -~]*[!-~][ -~]*$"
_HEADER_RE = re.compile(HEADER_PATTERN)


def idempotency_parameter(*, max_length: int = KEY_MAX_LENGTH) -> OpenApiParameter:
    """The `Idempotency-Key` header in the OpenAPI schema, with the rule
    `request_key` enforces (a batch passes its shorter `max_length`)."""
    return OpenApiParameter(
        name=HEADER,
        type={"type": "string", "minLength": 1, "maxLength": max_length, "pattern": HEADER_PATTERN},
        location=OpenApiParameter.HEADER,
        required=True,
        description=f"1 to {max_length} printable ASCII characters, unique per operation; a retry "
        "with the same key returns the first result, the same key with other parameters gets a 422.",
    )


IDEMPOTENCY_PARAMETER = idempotency_parameter()


class IdempotencyKeyInvalid(InputInvalid):
    pass


def key_is_valid(key: object, *, max_length: int = KEY_MAX_LENGTH) -> bool:
    return isinstance(key, str) and 1 <= len(key) <= max_length and key.isprintable()


def key_check(key: object) -> str:
    """The key, or `IdempotencyKeyInvalid` naming the `idempotency_key` field."""
    if not key_is_valid(key):
        raise IdempotencyKeyInvalid(
            f"An idempotency key of 1 to {KEY_MAX_LENGTH} printable characters is required.",
            field="idempotency_key",
        )
    assert isinstance(key, str)  # checked above
    return key


def header_key_is_valid(key: object, *, max_length: int = KEY_MAX_LENGTH) -> bool:
    """The header's rule (`HEADER_PATTERN`, 1 to `max_length` characters)."""
    return isinstance(key, str) and 1 <= len(key) <= max_length and _HEADER_RE.fullmatch(key) is not None


def request_key(request: Request, *, suffix_length: int = 0) -> str:
    """The request's key; a 400 naming the header when it is missing or
    malformed. `suffix_length` keeps room for what the caller appends (a
    batch's items use `<key>:<index>`), so every derived key passes `key_check`."""
    key = request.headers.get(HEADER, "")
    max_length = KEY_MAX_LENGTH - suffix_length
    if not header_key_is_valid(key, max_length=max_length):
        raise ValidationError(
            {HEADER: [f"This header is required: 1 to {max_length} printable ASCII characters."]}
        )
    return key


def fingerprint(**params: Any) -> str:
    """A stable hash of a request's parameters, to tell a retry from key reuse."""
    text = json.dumps({k: None if v is None else str(v) for k, v in params.items()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def replay_check(*, stored: str, fingerprint: str, what: str) -> None:
    """Raise `IdempotencyMismatch` (422) unless the first request with this
    key had the same parameters. `what` names the thing in the message."""
    if stored != fingerprint:
        raise IdempotencyMismatch(
            f"This Idempotency-Key was already used for {what} with other parameters.",
            field="idempotency_key",
        )
