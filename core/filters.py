"""Strict query values: the filters and query fields read exactly what the
schema states (issue 11), and an empty value is "not given" (as
`allowEmptyValue` in the schema says, `core.openapi`).

Django's form fields are lenient where the schema is not: `DateField` takes
`10/25/2006` and `2006-1-5`, `IntegerField` takes ` 5 ` and `5.0`, and an
offset of `+18:36` or a year-1 instant with a positive offset reached
PostgreSQL (or Python's `astimezone`) as an error: a 500. Here

- an id is 0 to `ID_MAX` in plain ASCII digits (`ID_SCHEMA`);
- a date is RFC 3339's `full-date` (`YYYY-MM-DD`);
- a date-time is RFC 3339's `date-time` (`T`, seconds, an offset or `Z`),
  read as UTC; an instant beyond what Python's `datetime` holds after
  conversion is clamped to its first or last UTC instant (a filter bound
  that far out excludes, or includes, everything either way).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import django_filters
from django import forms
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field

from core.converters import ID_MAX_DIGITS, SymbolConverter

ID_MAX = 10**ID_MAX_DIGITS - 1
ID_SCHEMA: dict[str, Any] = {"type": "integer", "minimum": 0, "maximum": ID_MAX}

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?)"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_FIRST = datetime.min.replace(tzinfo=UTC)
_LAST = datetime.max.replace(tzinfo=UTC)


class BadValue(ValueError):
    pass


def parse_id(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > ID_MAX_DIGITS:
        raise BadValue(f"A whole number from 0 to {ID_MAX}.")
    return int(text)


def parse_date(text: str) -> date:
    if _DATE.fullmatch(text) is None:
        raise BadValue("A date as YYYY-MM-DD.")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadValue("A date as YYYY-MM-DD.") from None


def parse_date_time(text: str) -> datetime:
    """An RFC 3339 date-time as an aware UTC `datetime` (clamped, see above)."""
    match = _DATE_TIME.fullmatch(text)
    if match is None:
        raise BadValue("A date-time as RFC 3339, e.g. 2026-01-31T12:00:00Z.")
    offset = match["offset"].upper().replace("Z", "+00:00")
    hours, minutes = int(offset[1:3]), int(offset[4:6])
    fraction = match["time"][8:][:7]  # "." and at most 6 digits: datetime keeps microseconds
    try:
        if hours > 23 or minutes > 59:
            raise ValueError
        local = datetime.fromisoformat(f"{match['date']}T{match['time'][:8]}{fraction}{offset}")
    except ValueError:
        raise BadValue("A date-time as RFC 3339, e.g. 2026-01-31T12:00:00Z.") from None
    try:
        return local.astimezone(UTC)
    except OverflowError:
        return _FIRST if local.year == 1 else _LAST


class _ParsedField(forms.CharField):
    parse: Any = None

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strip=False, **kwargs)  # " 5" is not an id

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return type(self).parse(text)
        except BadValue as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None


class IdField(_ParsedField):
    parse = staticmethod(parse_id)


class DateField(_ParsedField):
    parse = staticmethod(parse_date)


class DateTimeField(_ParsedField):
    parse = staticmethod(parse_date_time)


@extend_schema_field(ID_SCHEMA)
class IdFilter(django_filters.Filter):
    """An id (`ID_SCHEMA`); one that matches nothing filters to nothing."""

    field_class = IdField


@extend_schema_field({"type": "string", "format": "date"})
class StrictDateFilter(django_filters.Filter):
    field_class = DateField


@extend_schema_field({"type": "string", "format": "date-time"})
class UtcDateTimeFilter(django_filters.Filter):
    field_class = DateTimeField


@extend_schema_field({"type": "string", "pattern": f"^{SymbolConverter.regex}$"})
class SymbolFilter(django_filters.CharFilter):
    """An instrument symbol, as the path converter takes it (printable ASCII
    but `/`, 1 to 20 characters): anything else is a 400 naming the
    parameter, as its schema states (a free-text filter would take what
    no symbol can be and answer an empty list)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.extra.setdefault("validators", []).append(
            RegexValidator(f"^{SymbolConverter.regex}$", "Not an instrument symbol.", code="invalid")
        )
        self.extra.setdefault("strip", False)  # checked as sent
