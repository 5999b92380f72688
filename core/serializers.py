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

The schema states every rule a strict serializer enforces, so that a
request the schema allows is never a 400 (schemathesis holds both ways,
tests/fuzz/test_openapi.py). Where DRF is laxer than the schema it reads,
the strict serializer refuses what the schema refuses: in a JSON body a text
field takes only a string and an integer field only a number (DRF would take
`5` for a text and `"5"` for an integer); a text field's `maxLength` counts
the text as sent (DRF counts it after trimming the spaces around it). The
schema extension adds what drf-spectacular leaves out: a text field's
`pattern` (no control characters; not only whitespace where DRF trims and
refuses a blank), a list's `minItems`/`maxItems`, and the schema of a
`StatedField`, a field that states its own (`openapi_schema`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import wraps
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import QueryDict
from rest_framework import serializers

from core.filters import BadValue, parse_date, parse_date_time
from core.text import has_control_characters

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1


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
    if isinstance(field, serializers.ChoiceField) and "{input}" in str(
        field.error_messages["invalid_choice"]
    ):
        # DRF's message echoes the value: a 100,000-character one came back
        # whole. Name the choices instead (what the client needs to know).
        choices = ", ".join(str(choice) for choice in field.choices).replace("{", "{{").replace("}", "}}")
        field.error_messages["invalid_choice"] = (
            f"Not one of: {choices}." if len(choices) <= 200 else "Not one of the documented choices."
        )
    if isinstance(field, serializers.ListField) and field.child is not None:
        harden(field.child)


_INT_TEXT = re.compile(r"-?[0-9]+")
_UNSIGNED_INT_TEXT = re.compile(r"[0-9]+")


def is_int_text(text: str, *, negative: bool = True) -> bool:
    """Whether `text` is an integer in plain ASCII digits, with one leading
    `-` when `negative` allows it. Python's `int()` also takes `+5`, ` 5`,
    `1_000` and other scripts' digits (Arabic-Indic, full-width); `Decimal` and Django's
    `IntegerField` take `5.` and `5.0` too. The one rule of the API's
    integers in text (queries, forms: `_as_sent_errors`, `core.pagination`)
    and of the pages' forms (`core.forms.PlainIntegerField`)."""
    return (_INT_TEXT if negative else _UNSIGNED_INT_TEXT).fullmatch(text) is not None


def _as_sent_errors(fields: dict[str, serializers.Field], data: dict[str, Any]) -> dict[str, list[str]]:
    """What DRF would let through that the schema refuses: in a JSON body, a
    text field takes a string only and an integer field a number only; in a
    query or a form (text, where empty is "not given"), an integer is plain
    ASCII digits (DRF's `int()` takes ` 5`, `+5`, `5.0`, `1_000`). Control
    characters are refused before DRF trims a text (it strips `\x1c`-`\x1f`
    at the ends as whitespace)."""
    errors: dict[str, list[str]] = {}
    as_text = isinstance(data, QueryDict)
    for name, field in fields.items():
        if name not in data or field.read_only:
            continue
        value = data[name]
        if as_text:
            if isinstance(field, serializers.IntegerField) and value != "" and not is_int_text(value):
                errors[name] = ["A valid integer is required."]
            continue
        if value is None:
            continue  # `allow_null` decides
        if isinstance(field, serializers.CharField):
            if not isinstance(value, str):
                errors[name] = ["Not a valid string."]
            elif has_control_characters(value):  # DRF would trim those at the ends (\x1c-\x1f)
                errors[name] = ["Control characters are not allowed."]
            elif field.max_length is not None and len(value) > field.max_length:
                errors[name] = [f"Ensure this field has no more than {field.max_length} characters."]
        elif isinstance(field, serializers.IntegerField):
            integral = isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value()
            if isinstance(value, bool) or not (isinstance(value, int) or integral):
                errors[name] = ["A valid integer is required."]
    return errors


class StrictSerializer(serializers.Serializer):
    """Base of every input serializer: unknown fields are a 400 naming them.
    A query-parameter serializer sets `refuse_unknown = False` (a query also
    carries `format`, the cursor, and other filters), and reads text."""

    refuse_unknown = True

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for field in fields.values():
            harden(field)
        return fields

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = (
                sorted(str(key) for key in data if key not in self.fields) if self.refuse_unknown else []
            )
            if unknown:
                raise serializers.ValidationError({key: ["Unknown field."] for key in sorted(unknown)})
            errors = _as_sent_errors(dict(self.fields), data)
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class NoBody(StrictSerializer):
    """The body of an action that takes none (close, cancel, a ticket, a
    token's revocation): nothing, or `{}`. Any field is unknown, so a client
    that believes it sent a parameter learns it was not taken."""


def without_body(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse a body on a view method that takes none (400 naming each field),
    before it acts. Put it under `@extend_schema(request=None, ...)`: the
    schema says there is no body, this makes it so."""

    @wraps(handler)
    def refusing(view: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        NoBody(data=request.data).is_valid(raise_exception=True)
        return handler(view, request, *args, **kwargs)

    return refusing


class StatedField(serializers.Field):
    """A field whose OpenAPI schema is its own `openapi_schema()` (the schema
    extension in `core.openapi` reads it): for a rule drf-spectacular cannot
    see in a custom field."""

    def openapi_schema(self) -> dict[str, Any]:
        raise NotImplementedError


def _lt_same_length(digits: str) -> list[str]:
    """Regexes of the digit strings as long as `digits`, without a leading
    zero, and below it."""
    out = []
    for k, d in enumerate(digits):
        low = 1 if k == 0 else 0
        if int(d) > low:
            top = int(d) - 1
            span = f"{low}" if top == low else f"{low}-{top}"
            rest = len(digits) - k - 1
            out.append(digits[:k] + f"[{span}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return out


def _le_fixed(digits: str) -> list[str]:
    """Regexes of the digit strings as long as `digits` (leading zeros
    allowed) that are at most it."""
    out = [digits]
    for k, d in enumerate(digits):
        if d != "0":
            top = int(d) - 1
            span = "0" if top == 0 else f"0-{top}"
            rest = len(digits) - k - 1
            out.append(digits[:k] + f"[{span}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    return out


def decimal_pattern(*, places: int, maximum: Decimal, exclusive: bool = False) -> str:
    """The regex (ECMA and Python alike) of the plain decimal texts of the
    numbers in (0, maximum] (or (0, maximum) when `exclusive`) with at most
    `places` decimal places: ASCII digits, at least one before the point, no
    sign, exponent or space; leading zeros allowed (`Decimal` reads them).
    `maximum` is at least 1, and integral when `exclusive`."""
    if maximum < 1 or (exclusive and maximum != maximum.to_integral_value()):
        raise ValueError("maximum must be at least 1, and integral when exclusive")
    int_text, _, frac_text = f"{maximum:f}".partition(".")
    frac_text = (frac_text + "0" * places)[:places]
    if Decimal(f"{int_text}.{frac_text or 0}") != maximum:
        raise ValueError(f"maximum {maximum} has more than {places} places")
    any_fraction = f"(?:\\.[0-9]{{1,{places}}})?" if places else ""
    below = _lt_same_length(int_text)
    if len(int_text) > 1:
        below.insert(0, f"[1-9][0-9]{{0,{len(int_text) - 2}}}" if len(int_text) > 2 else "[1-9]")
    alternatives = [f"0*(?:{'|'.join(below)}){any_fraction}"] if below else []
    if not exclusive:
        tails = [f"\\.(?:{'|'.join(_le_fixed(frac_text[:n]))})" for n in range(1, places + 1)]
        alternatives.append(f"0*{int_text}" + (f"(?:{'|'.join(tails)})?" if tails else ""))
    if places:
        nonzero = "|".join(f"{'0' * j}[1-9][0-9]{{0,{places - 1 - j}}}" for j in range(places))
        alternatives.append(f"0+\\.(?:{nonzero})")
    return f"^(?:{'|'.join(alternatives)})$"


class DecimalTextField(StatedField):
    """A positive decimal in (0, maximum] with at most `places` places, as a
    JSON string or number, read by its text (`decimal_pattern`): DRF's
    `DecimalField` also takes signs, exponents and spaces the schema's
    pattern does not. A JSON number is read by its exact text (the strict
    parser), so `0.5` is `Decimal("0.5")`, and in plain notation whatever
    notation it was written in (`5E-1` is "0.5"); a string with an exponent
    is refused."""

    def __init__(self, *, places: int, maximum: Decimal, **kwargs: Any) -> None:
        self.places = places
        self.maximum = maximum
        self.pattern = decimal_pattern(places=places, maximum=maximum)
        self._regex = re.compile(self.pattern)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)):
            raise serializers.ValidationError('Enter a decimal string, e.g. "0.25".', code="invalid")
        if self._regex.fullmatch(str(data)) is None:
            raise serializers.ValidationError(
                f"Enter a plain decimal above 0 and at most {self.maximum}, "
                f"with at most {self.places} decimal places.",
                code="invalid",
            )
        return Decimal(str(data))

    def to_representation(self, value: Decimal) -> str:
        return str(value)

    def openapi_schema(self) -> dict[str, Any]:
        return decimal_schema(places=self.places, maximum=self.maximum, pattern=self.pattern)


def decimal_schema(*, places: int, maximum: Decimal, pattern: str, exclusive: bool = False) -> dict[str, Any]:
    """A decimal taken as a string (`pattern`) or as a JSON number with the
    same bounds and places (OpenAPI 3.0 keywords). A number is read by its
    value in plain notation whatever notation it was written in
    (`core.parsers.JsonNumber`), so the two forms take the same values."""
    number: dict[str, Any] = {
        "type": "number",
        "maximum": float(maximum) if maximum != maximum.to_integral_value() else int(maximum),
        "multipleOf": float(Decimal(1).scaleb(-places)) if places else 1,
        "minimum": 0,
        "exclusiveMinimum": True,
    }
    if exclusive:
        number["exclusiveMaximum"] = True
    return {
        "anyOf": [{"type": "string", "format": "decimal", "pattern": pattern}, number],
        "description": "A decimal string, or a JSON number (any notation: its value counts).",
    }


class QuerySerializer(StrictSerializer):
    refuse_unknown = False


class StrictDateTimeField(serializers.DateTimeField):
    """An RFC 3339 date-time, read as UTC (`core.filters.parse_date_time`)."""

    def to_internal_value(self, value: Any) -> datetime:
        try:
            return parse_date_time(value) if isinstance(value, str) else _not_text()
        except BadValue as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None


class StrictDateField(serializers.DateField):
    """An RFC 3339 full-date (`core.filters.parse_date`)."""

    def to_internal_value(self, value: Any) -> date:
        try:
            return parse_date(value) if isinstance(value, str) else _not_text()
        except BadValue as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None


def _not_text() -> Any:
    raise BadValue("Not a valid string.")
