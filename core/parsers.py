"""A JSON parser that refuses what the standard one lets through.

Money must never pass through `float`: JSON numbers are parsed as `Decimal`
(their exact text), and `NaN`/`Infinity` literals and duplicate keys are
refused outright, since `{"amount": 1, "amount": 1000}` would otherwise mean
whatever the last key says.
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


def loads_strict(text: str) -> Any:
    return json.loads(
        text,
        parse_float=Decimal,
        parse_int=Decimal,
        parse_constant=_refuse_constant,
        object_pairs_hook=_unique_keys,
    )


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return loads_strict(stream.read().decode(encoding))
        except DuplicateKey as exc:
            # Named like a field error, so a client sees which field was sent twice.
            raise ParseError({exc.key: ["duplicate key"]}) from exc
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
