"""A JSON parser that refuses what the standard one lets through.

Money must never pass through `float`: JSON numbers are parsed as `Decimal`
(their exact text), and `NaN`/`Infinity` literals and duplicate keys are
refused outright, since `{"amount": 1, "amount": 1000}` would otherwise mean
whatever the last key says.

Nesting is bounded (`MAX_DEPTH`): no request of this API nests deeper than a
batch item's field (3), and Python's decoder recurses per level, so a body of
100,000 `[` would otherwise escape as `RecursionError` (a 500 for any client,
even anonymous). Too deep is a 400 like any other malformed body.

`SessionFormParser` and `SessionMultiPartParser` take the browsable API's
HTML forms on the endpoints that offer one (`BROWSABLE_FORM_PARSERS`), from
a logged-in session only; the schema documents JSON alone
(`core.openapi.ApiSchema.map_parsers`).
"""

import json
from decimal import Decimal
from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


# Far above any real request (a batch item's field is at depth 3), far below
# the interpreter's recursion limit.
MAX_DEPTH = 32


class TooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")


def _depth_check(value: Any) -> None:
    """Raise `TooDeep` if containers nest deeper than `MAX_DEPTH`; iterative,
    so checking cannot itself run out of stack."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise TooDeep
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))


def loads_strict(text: str) -> Any:
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_int=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError as exc:
        # The C decoder gives up cleanly at the interpreter's limit; say why.
        raise TooDeep from exc
    _depth_check(value)
    return value


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return loads_strict(stream.read().decode(encoding))
        except DuplicateKey as exc:
            # Named like a field error, so a client sees which field was sent twice.
            raise ParseError({exc.key: ["duplicate key"]}) from exc
        except (ValueError, UnicodeDecodeError, LookupError) as exc:
            # LookupError: a charset in Content-Type that Python does not know.
            raise ParseError(f"JSON parse error - {exc}") from exc


def _session_only(parser_context: Any, media_type: str | None) -> None:
    """A form body is the browsable API's (a browser's HTML form): taken from
    a logged-in session only. An API client sends JSON, the one media type
    the schema documents, and gets 415 for a form."""
    request = (parser_context or {}).get("request")
    # DRF records the authenticator once authentication is over (reading
    # `successful_authenticator` before would start it again). A form read
    # during authentication is the session authenticator's own CSRF check
    # reading the form's token: a session request.
    if request is None or not hasattr(request, "_authenticator"):
        return
    if not isinstance(request.successful_authenticator, SessionAuthentication):
        raise UnsupportedMediaType(media_type or "")


class SessionFormParser(FormParser):
    """`application/x-www-form-urlencoded`, from a session only."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        _session_only(parser_context, media_type)
        return super().parse(stream, media_type, parser_context)


class SessionMultiPartParser(MultiPartParser):
    """`multipart/form-data` (the browsable API's HTML form), from a session only."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        _session_only(parser_context, media_type)
        return super().parse(stream, media_type, parser_context)


# The parsers of a POST the browsable API's forms can send.
BROWSABLE_FORM_PARSERS = [StrictJSONParser, SessionFormParser, SessionMultiPartParser]
