"""A JSON parser that refuses what the standard one lets through.

Money must never pass through `float`: JSON numbers are parsed as `Decimal`
(their exact text), and `NaN`/`Infinity` literals and duplicate keys are
refused outright, since `{"amount": 1, "amount": 1000}` would otherwise mean
whatever the last key says.

Nesting is bounded (`MAX_DEPTH`): no request of this API nests deeper than a
batch item's field (3), and Python's decoder recurses per level, so a body of
100,000 `[` would otherwise escape as `RecursionError` (a 500 for any client,
even anonymous). Too deep is a 400 like any other malformed body.
"""

import json
from decimal import Decimal
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


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
