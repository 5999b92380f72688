"""The browsable API's renderer: forms that can create trades, plans and
money movements (issue 11).

Those POSTs need an `Idempotency-Key` header, which a browser's form cannot
send. A view whose POST takes one says which serializer its form is
(`form_serializer_class`, or `get_form_serializer_class()` for a viewset's
actions); this renderer then builds both forms from it:

- the HTML form: the serializer's fields plus `idempotency_key`, filled with
  a fresh uuid4 each time the page is rendered (`core.idempotency.FORM_FIELD`);
- the raw-data form: JSON with the required fields to fill in and the same
  fresh `idempotency_key`.

The server takes that field in place of the header only from a logged-in
session's browsable request (`core.idempotency.request_key`), never from a
token client. The form is offered where the view takes form bodies
(`core.parsers.BROWSABLE_FORM_PARSERS`); a batch, whose trades are a list an
HTML form cannot hold, has the raw-data form only. After a refused POST the
form keeps what was sent (and its key: nothing was created); after a
success it has a new key.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django import forms
from django.http import QueryDict
from rest_framework import serializers
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request, is_form_media_type, override_method

from core.idempotency import FORM_FIELD, KEY_MAX_LENGTH


def form_serializer_class(view: Any) -> type[serializers.Serializer] | None:
    """The serializer of the view's keyed POST form, if it has one."""
    getter = getattr(view, "get_form_serializer_class", None)
    if getter is not None:
        return getter()  # type: ignore[no-any-return]
    return getattr(view, "form_serializer_class", None)


def _fresh_key() -> str:
    return uuid.uuid4().hex


def keyed(serializer_class: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """`serializer_class` with the `idempotency_key` field, filled fresh."""
    key = serializers.CharField(
        initial=_fresh_key,
        max_length=KEY_MAX_LENGTH,
        label="Idempotency key",
        help_text="Made fresh for this form: submitting it again does not do it twice.",
    )
    return type(f"Keyed{serializer_class.__name__}", (serializer_class,), {FORM_FIELD: key})


def _template(serializer: serializers.Serializer) -> dict[str, Any]:
    """The required fields of a JSON body, to fill in (a list: one item)."""
    body: dict[str, Any] = {}
    for name, field in serializer.fields.items():
        if field.read_only or not field.required:
            continue
        if isinstance(field, serializers.ListSerializer):
            child = field.child
            body[name] = [_template(child)] if isinstance(child, serializers.Serializer) else []
        elif isinstance(field, serializers.Serializer):
            body[name] = _template(field)
        else:
            body[name] = ""
    return body


class BrowsableApiRenderer(BrowsableAPIRenderer):
    def _refused(self) -> bool:
        # `render()` sets the context before it builds the forms.
        response = getattr(self, "renderer_context", {}).get("response")
        return response is not None and response.status_code >= 400

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Request) -> Any:
        with override_method(view, request, method) as overridden:
            form_class = form_serializer_class(view) if method == "POST" else None
            if form_class is not None:
                if not self.show_form_for_method(view, method, overridden, None):
                    return None
                if not any(is_form_media_type(parser.media_type) for parser in view.parser_classes):
                    return None
                context = {"request": overridden, "format": self.format, "view": view}
                if request.method == method and self._refused():
                    # Show what was sent, with its errors; its key created nothing.
                    serializer = keyed(form_class)(data=_sent(request), context=context)
                else:
                    serializer = keyed(form_class)(context=context)
                return self.render_form_for_serializer(serializer)
        return super().get_rendered_html_form(data, view, method, request)

    def get_raw_data_form(self, data: Any, view: Any, method: str, request: Request) -> Any:
        with override_method(view, request, method) as overridden:
            form_class = form_serializer_class(view) if method == "POST" else None
            if form_class is not None:
                if not self.show_form_for_method(view, method, overridden, None):
                    return None
                return _raw_form(view, {**_template(form_class()), FORM_FIELD: _fresh_key()})
        return super().get_raw_data_form(data, view, method, request)


def _sent(request: Request) -> Any:
    """The refused request's body, less the form's CSRF token (not a field)."""
    data = request.data
    if isinstance(data, QueryDict):
        data = data.copy()
        data.pop("csrfmiddlewaretoken", None)
    return data


def _raw_form(view: Any, body: dict[str, Any]) -> forms.Form:
    """DRF's raw-data form (media type and content), with `body` as content."""
    media_types = [parser.media_type for parser in view.parser_classes]

    class RawDataForm(forms.Form):
        _content_type = forms.ChoiceField(
            label="Media type",
            choices=[(media_type, media_type) for media_type in media_types],
            initial=media_types[0],
            widget=forms.Select(attrs={"data-override": "content-type"}),
        )
        _content = forms.CharField(
            label="Content",
            widget=forms.Textarea(attrs={"data-override": "content"}),
            initial=json.dumps(body, indent=4),
            required=False,
        )

    return RawDataForm()
