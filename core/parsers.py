"""A JSON parser that refuses what the standard one lets through.

Money must never pass through `float`: JSON numbers are parsed as `Decimal`
(their exact text), and `NaN`/`Infinity` literals and duplicate keys are
refused outright, since `{"amount": 1, "amount": 1000}` would otherwise mean
whatever the last key says.

A JSON number is its value, whatever its notation (`JsonNumber`): `1e2`
is 100 and `2e-05` is 0.00002 (Python's encoder writes that number so). The
validators read a number by its text in plain notation, as they read a
string, so the same places and bounds apply to both forms.

A lone surrogate (`"\\ud800"`, valid JSON escape syntax, no character of
any encoding) is refused in any key or string: echoed in an error message it
could not be encoded as UTF-8, so it must not get past the parser.

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
import re
from decimal import Decimal
from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


# Within this many places either side of the point a number is written out
# plainly; beyond, it keeps `Decimal`'s text with its exponent (which every
# validator refuses) rather than writing out a million digits of `1e999999`.
PLAIN_PLACES = 40


class JsonNumber(Decimal):
    """A JSON number: the exact value of its literal, printed in plain
    notation (`Decimal("1.0e1")` prints "1.0E+1"; this prints "10")."""

    def __str__(self) -> str:
        if -PLAIN_PLACES <= self.adjusted() <= PLAIN_PLACES:
            return format(self, "f")
        return super().__str__()


_SURROGATE = re.compile("[\ud800-\udfff]")


class LoneSurrogate(ValueError):
    def __init__(self, where: str, field: str | None = None) -> None:
        super().__init__(f"a lone surrogate escape (\\ud800-\\udfff) in {where}")
        self.field = field


class DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.key = key


def _surrogate_in(value: Any) -> bool:
    """A lone surrogate in a string, or in a string of (nested) lists: an
    object inside was checked as it was built."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and _SURROGATE.search(item):
            return True
        if isinstance(item, list):
            stack.extend(item)
    return False


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if _SURROGATE.search(key):
            raise LoneSurrogate("a key")
        if _surrogate_in(value):
            raise LoneSurrogate("this value", field=key)
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


def depth_check(value: Any) -> None:
    """Raise `TooDeep` if containers nest deeper than `MAX_DEPTH`, and
    `LoneSurrogate` for one in a top-level string or list (an object's values
    are checked as it is built); iterative, so checking cannot itself run
    out of stack."""
    if _surrogate_in(value):
        raise LoneSurrogate("a string")
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
            parse_float=JsonNumber,
            parse_int=JsonNumber,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError as exc:
        # The C decoder gives up cleanly at the interpreter's limit; say why.
        raise TooDeep from exc
    depth_check(value)
    return value


def loads_frame(text: str) -> Any:
    """A WebSocket frame's JSON, by the body's rules (no duplicate keys, no
    NaN or Infinity, no lone surrogates, at most `MAX_DEPTH` levels) but with
    plain `int` and `float` numbers: a frame carries no money."""
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except RecursionError as exc:
        raise TooDeep from exc
    depth_check(value)
    return value


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return loads_strict(stream.read().decode(encoding))
        except DuplicateKey as exc:
            # Named like a field error, so a client sees which field was sent twice.
            raise ParseError({exc.key: ["duplicate key"]}) from exc
        except LoneSurrogate as exc:
            if exc.field is not None:
                raise ParseError({exc.field: [str(exc)]}) from exc
            raise ParseError(f"JSON parse error - {exc}") from exc
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
