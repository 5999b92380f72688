"""The default pagination, bounded (issue 11).

DRF's `LimitOffsetPagination` takes any `limit` and `offset`; a 40-digit one
reached PostgreSQL as "bigint out of range" (a 500). Here `limit` is capped
at `MAX_LIMIT` (as DRF caps it when `max_limit` is set) and an `offset`
beyond any table's size is a 400 naming it.
"""

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_LIMIT = 200
MAX_OFFSET = 2**31 - 1


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_offset(self, request: Request) -> int:
        raw = request.query_params.get(self.offset_query_param, "")
        if len(raw) > len(str(MAX_OFFSET)) or (raw.isdigit() and int(raw) > MAX_OFFSET):
            raise ValidationError({self.offset_query_param: [f"At most {MAX_OFFSET}."]})
        return super().get_offset(request)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            bound = MAX_LIMIT if parameter["name"] == self.limit_query_param else MAX_OFFSET
            parameter["schema"] = {**parameter["schema"], "minimum": 0, "maximum": bound}
        return parameters
