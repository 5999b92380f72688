"""The page forms' counterpart of `core.serializers.StrictSerializer`, so the
error shows beside the field instead of the value travelling on to a service
or the database:

- text fields refuse control characters (Django's forms refuse only NUL);
- integer fields take plain ASCII digits only, the API's rule
  (`core.serializers.is_int_text`): Django's `IntegerField` reads with
  `int()`, which also takes other scripts' digits (Arabic-Indic, full-width),
  `1_000`, `+10` and `10.`/`10.0`. A leading `-` only where the field allows
  negative numbers (no `min_value` at or above 0). Spaces around the number
  are forgiven (a paste), as the stake's are.

A `TypedChoiceField` needs nothing: its choices are compared as text before
`coerce` runs, so a full-width one is not the choice `1`."""

from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured, ValidationError

from core.serializers import is_int_text
from core.text import has_control_characters

# ASCII whitespace only: `str.strip()` would also drop \x1c-\x1f and
# other scripts' spaces, which are no part of a number typed in digits.
_SPACES = " \t\r\n"


def no_control_characters(value: Any) -> None:
    if isinstance(value, str) and has_control_characters(value):
        raise ValidationError("Control characters are not allowed.", code="control_characters")


class PlainIntegerField(forms.IntegerField):
    """An `IntegerField` that takes plain ASCII digits only (the module doc).
    Its "invalid" message speaks to a person; a form sets its own wording
    for a field (`error_messages={"invalid": ...}`)."""

    default_error_messages = {"invalid": "Enter a whole number using the digits 0 to 9, e.g. 15."}

    def to_python(self, value: Any) -> int | None:
        if isinstance(value, str):
            value = value.strip(_SPACES)
            negative = self.min_value is None or self.min_value < 0
            if value not in self.empty_values and not is_int_text(value, negative=negative):
                raise ValidationError(self.error_messages["invalid"], code="invalid")
        result = super().to_python(value)
        return None if result is None else int(result)


def plain_integer(field: forms.Field) -> None:
    """Make an integer field of a form `PlainIntegerField`, in place: a
    model form's fields are Django's `IntegerField`. Another subclass of
    `IntegerField` (not a float or decimal field) is refused: it would keep
    `int()`'s reading, and the author should base it on `PlainIntegerField`."""
    if not isinstance(field, forms.IntegerField) or isinstance(field, PlainIntegerField):
        return
    if isinstance(field, (forms.FloatField, forms.DecimalField)):
        return
    if type(field) is not forms.IntegerField:
        raise ImproperlyConfigured(
            f"{type(field).__name__}: base integer fields on core.forms.PlainIntegerField"
        )
    field.__class__ = PlainIntegerField
    # The instance's messages were merged from IntegerField's defaults.
    if field.error_messages.get("invalid") == forms.IntegerField.default_error_messages["invalid"]:
        field.error_messages["invalid"] = PlainIntegerField.default_error_messages["invalid"]


class StrictFormMixin:
    """Put first in the bases of every page form."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and no_control_characters not in field.validators:
                field.validators.append(no_control_characters)
            plain_integer(field)
