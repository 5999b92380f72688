"""The strict base of every input serializer (issue 11).

DRF ignores what a serializer does not declare, so a misspelt `take_proft`
opened a trade without the protection the client believed it asked for. A
`StrictSerializer` refuses unknown fields (400 naming each), and bounds what
DRF leaves open on its own, so no value reaches the database or a `timedelta`
that they cannot hold (a 500 otherwise):

- text fields refuse control characters (DRF refuses only NUL, which
  PostgreSQL cannot store); tab, newline and carriage return stay allowed in
  free text;
- integer fields without explicit bounds get the range of a PostgreSQL
  `integer`, and a declared bound is kept;
- decimal fields must declare `max_digits` (a schema test holds it).

The bounds are set on the field itself, so drf-spectacular documents them
(`minimum`/`maximum`, `additionalProperties: false` through the schema
extension in `core.openapi`).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from rest_framework import serializers

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
_ALLOWED_CONTROLS = frozenset("\t\n\r")


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in text)


def no_control_characters(value: Any) -> None:
    if isinstance(value, str) and has_control_characters(value):
        raise serializers.ValidationError("Control characters are not allowed.", code="control_characters")


def harden(field: serializers.Field) -> None:
    """Bound one field in place (see the module doc)."""
    if isinstance(field, serializers.CharField) and no_control_characters not in field.validators:
        field.validators.append(no_control_characters)
    if isinstance(field, serializers.IntegerField):
        if field.max_value is None:
            field.max_value = INT_MAX
            field.validators.append(MaxValueValidator(INT_MAX))
        if field.min_value is None:
            field.min_value = INT_MIN
            field.validators.append(MinValueValidator(INT_MIN))
    if isinstance(field, serializers.ListField) and field.child is not None:
        harden(field.child)


class StrictSerializer(serializers.Serializer):
    """Base of every input serializer: unknown fields are a 400 naming them.
    A query-parameter serializer sets `refuse_unknown = False` (a query also
    carries `format`, the cursor, and other filters)."""

    refuse_unknown = True

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            harden(field)
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if self.refuse_unknown and isinstance(data, dict):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class QuerySerializer(StrictSerializer):
    refuse_unknown = False
