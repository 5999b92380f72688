"""Idempotency: what a key is, how a request is fingerprinted, and what a
repeated key means, for every money-moving or trade-initiating request
(docs/architecture.md, "Idempotency").

- A key is 1 to `KEY_MAX_LENGTH` printable characters (`key_check`). The
  API reads it from the required `Idempotency-Key` header (`request_key`,
  documented by `idempotency_parameter`): without it a client's retry would
  create a second trade or move money twice. A header carries printable
  ASCII (`HEADER_PATTERN`: not only spaces, which a server strips), and the
  schema states exactly that rule, pattern and lengths.
- The browsable API cannot send a header from its forms: for a request from
  a logged-in session that comes from it (a form body, or a request that
  asked for the browsable renderer, as its raw-data form does), the key may
  come as the body field `idempotency_key` (`FORM_FIELD`), which
  `core.renderers` fills with a fresh value in every form it renders, and
  `request_input` takes it out of the data the serializers see. A token
  client must send the header (its body's `idempotency_key` is not read).
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

from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request, is_form_media_type

from core.errors import IdempotencyMismatch, InputInvalid

HEADER = "Idempotency-Key"
# The body field that carries the key in the browsable API's forms.
FORM_FIELD = "idempotency_key"
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


def from_browsable_api(request: Request) -> bool:
    """A logged-in session's request from the browsable API: a form body (only
    a browser sends one; `core.parsers` takes it from a session only), or one
    that asked for the browsable renderer (its raw-data form does)."""
    if not isinstance(request.successful_authenticator, SessionAuthentication):
        return False
    is_form = is_form_media_type(request.content_type or "")
    return is_form or isinstance(getattr(request, "accepted_renderer", None), BrowsableAPIRenderer)


def request_key(request: Request, *, suffix_length: int = 0) -> str:
    """The request's key; a 400 naming the header when it is missing or
    malformed. `suffix_length` keeps room for what the caller appends (a
    batch's items use `<key>:<index>`), so every derived key passes `key_check`.
    From the browsable API, the body's `idempotency_key` stands in for a
    missing header (the module doc)."""
    key = request.headers.get(HEADER, "")
    browsable = not key and from_browsable_api(request)
    if browsable:
        value = request.data.get(FORM_FIELD, "") if isinstance(request.data, dict) else ""
        key = value if isinstance(value, str) else ""
    max_length = KEY_MAX_LENGTH - suffix_length
    if not header_key_is_valid(key, max_length=max_length):
        message = f"This header is required: 1 to {max_length} printable ASCII characters."
        errors = {HEADER: [message]}
        if browsable:
            errors[FORM_FIELD] = [
                f"Or this field, in the browsable API: 1 to {max_length} printable ASCII characters."
            ]
        raise ValidationError(errors)
    return key


def request_input(request: Request) -> Any:
    """The body the serializers see: without the browsable API's
    `idempotency_key` and a form's `csrfmiddlewaretoken`, which are not
    fields of the operation."""
    data = request.data
    if not isinstance(data, dict) or not from_browsable_api(request):
        return data
    if isinstance(data, QueryDict):
        data = data.copy()
        for name in (FORM_FIELD, "csrfmiddlewaretoken"):
            data.pop(name, None)
        return data
    return {name: value for name, value in data.items() if name != FORM_FIELD}


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
