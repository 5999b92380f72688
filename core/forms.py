"""The page forms' counterpart of `core.serializers.StrictSerializer`: text
fields refuse control characters (Django's forms refuse only NUL), so the
error shows beside the field instead of the value travelling on to a service
or the database."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from core.serializers import has_control_characters


def no_control_characters(value: Any) -> None:
    if isinstance(value, str) and has_control_characters(value):
        raise ValidationError("Control characters are not allowed.", code="control_characters")


class StrictFormMixin:
    """Put first in the bases of every page form with text fields."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and no_control_characters not in field.validators:
                field.validators.append(no_control_characters)
