"""PostgreSQL array literals for set-based statements (`unnest(%(x)s::bigint[])`).

psycopg's client-side binding (Django's default cursor) builds a list
parameter element by element in Python, with a regular expression per
element to decide its quoting: for a settlement batch (some 14,000 elements
in four statements) that cost more than the statements' own Python. These
build the literal text in one `join`; the text is then one string parameter,
escaped by libpq, and cast by the statement (`::bigint[]`, `::numeric[]`,
`::text[]`, `::timestamptz[]`).

Each function accepts only its type (and None, which becomes NULL), so a
literal can never be malformed: an int or a finite Decimal prints only
digits, sign, point and exponent; an aware datetime's ISO text only digits
and `-:.+T`; text elements are double-quoted with backslash escapes, which
PostgreSQL reads back exactly.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal


def _element_error(kind: str, value: object) -> TypeError:
    return TypeError(f"a {kind} array element must be a {kind} or None, not {type(value).__name__}")


def _int(value: int | None) -> str:
    if value is None:
        return "NULL"
    if type(value) is not int:  # bool is an int subclass: refused
        raise _element_error("int", value)
    return str(value)


def _decimal(value: Decimal | None) -> str:
    if value is None:
        return "NULL"
    if type(value) is not Decimal or not value.is_finite():
        raise _element_error("finite Decimal", value)
    return str(value)


def _text(value: str | None) -> str:
    if value is None:
        return "NULL"
    if not isinstance(value, str):
        raise _element_error("str", value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _timestamp(value: datetime | None) -> str:
    if value is None:
        return "NULL"
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise _element_error("timezone-aware datetime", value)
    return value.isoformat()


def int_array(values: Iterable[int | None]) -> str:
    """`{1,2,NULL}`, for `::bigint[]` / `::int[]`."""
    return "{" + ",".join(map(_int, values)) + "}"


def decimal_array(values: Iterable[Decimal | None]) -> str:
    """`{1.50,-0.10,NULL}`, for `::numeric[]`."""
    return "{" + ",".join(map(_decimal, values)) + "}"


def text_array(values: Iterable[str | None]) -> str:
    """`{"a","b \\"c\\"",NULL}`, for `::text[]`."""
    return "{" + ",".join(map(_text, values)) + "}"


def timestamp_array(values: Iterable[datetime | None]) -> str:
    """`{2026-01-01T00:00:00+00:00,NULL}`, for `::timestamptz[]`."""
    return "{" + ",".join(map(_timestamp, values)) + "}"
