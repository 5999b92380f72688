"""The API's pagination, bounded and strict (issue 11).

DRF's `LimitOffsetPagination` takes any `limit` and `offset`; a 40-digit one
reached PostgreSQL as "bigint out of range" (a 500). And DRF reads a page
size it cannot use (`limit=-1`, `page_size=true`, one above the maximum) as
the default, so a request the schema calls invalid got a 200. Here each
parameter is a whole number in the range the schema states (`minimum`,
`maximum`), or a 400 naming it; empty is the default, as for every optional
query parameter (`allowEmptyValue` in the schema, `core.openapi`).

- `BoundedLimitOffsetPagination` (the default): `limit` 1 to `MAX_LIMIT`,
  `offset` 0 to `MAX_OFFSET`;
- `BoundedCursorPagination`: `page_size` 1 to `max_page_size`; a cursor the
  server did not make is a 404 (no such page: the schema cannot state
  which strings are cursors, so it is not a 400 for a schema-valid
  request) whose body names `cursor`. DRF's said only "Invalid cursor", and
  read some garbage (`*`, `%00`) as no cursor at all, since base64
  decoding skips what it cannot read.
"""

import re
from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination, LimitOffsetPagination
from rest_framework.request import Request

from core.serializers import is_int_text

MAX_LIMIT = 200
MAX_OFFSET = 2**31 - 1
# What `encode_cursor` writes: base64 of a short query string.
_CURSOR = re.compile(r"[A-Za-z0-9+/]{1,400}={0,2}")
INVALID_CURSOR = "Not a cursor of this list: follow a page's `next` or `previous` link."


def query_int(request: Request, name: str, *, low: int, high: int) -> int | None:
    """The whole number `name` in [low, high], None when absent or empty,
    else a 400 naming it. Plain ASCII digits: `+5`, `5.0`, `1_000` and
    spaces are refused (Python's `int` takes them)."""
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    digits = raw[1:] if raw.startswith("-") else raw
    if not is_int_text(raw) or len(digits) > len(str(max(abs(low), abs(high)))):
        raise ValidationError({name: [f"A whole number from {low} to {high}."]})
    value = int(raw)
    if not low <= value <= high:
        raise ValidationError({name: [f"A whole number from {low} to {high}."]})
    return value


def _bounded(parameter: dict[str, Any], low: int, high: int) -> dict[str, Any]:
    return {**parameter, "schema": {"type": "integer", "minimum": low, "maximum": high}}


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_limit(self, request: Request) -> int | None:
        limit = query_int(request, self.limit_query_param, low=1, high=MAX_LIMIT)
        return self.default_limit if limit is None else limit

    def get_offset(self, request: Request) -> int:
        return query_int(request, self.offset_query_param, low=0, high=MAX_OFFSET) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        return [
            _bounded(p, 1, MAX_LIMIT) if p["name"] == self.limit_query_param else _bounded(p, 0, MAX_OFFSET)
            for p in parameters
        ]


class BoundedCursorPagination(CursorPagination):
    """Cursor pagination with a strict `page_size` (1 to `max_page_size`)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        size = query_int(request, self.page_size_query_param, low=1, high=self.max_page_size)
        return self.page_size if size is None else size

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded == "":
            return None  # an empty parameter is the parameter not given
        if encoded is not None and not _CURSOR.fullmatch(encoded):
            raise self._not_a_cursor()
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise self._not_a_cursor() from None

    def _not_a_cursor(self) -> NotFound:
        return NotFound({self.cursor_query_param: [INVALID_CURSOR], "detail": INVALID_CURSOR})

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        return [
            _bounded(p, 1, self.max_page_size) if p["name"] == self.page_size_query_param else p
            for p in parameters
        ]
