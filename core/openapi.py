"""The API's OpenAPI schema class (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]).

drf-spectacular documents only the success status of an operation (and what
a view lists in `@extend_schema(responses=...)`); the error statuses every
view answers through DRF and `core.exceptions` went undocumented, so a
client generated from the schema, or the schema fuzz test
(tests/fuzz/test_openapi.py, `status_code_conformance`), could not know
them. `ApiSchema` adds them to each operation from what the view declares:

- 400 (invalid input): an operation with a request body, query parameters
  or an `Idempotency-Key` header;
- 401 and 403: an operation some permission guards (not AllowAny): no or a
  bad credential, and not allowed (staff only, another's object, CSRF);
- 404: an operation on a path with parameters (unknown, or another user's;
  a value the URL pattern does not take, e.g. a non-integer id, gets
  Django's HTML 404 page before any view runs), or with a page cursor (a
  cursor the server did not make is no such page, naming `cursor`);
- 409: a write on an existing object whose state forbids it (closing a
  settled trade, approving a decided withdrawal);
- 422: an operation with a request body or an `Idempotency-Key`: the
  request is well formed, and a business rule refuses it (`core.errors`:
  the key used before with other parameters, an unknown instrument, the
  balance, ...); an operation whose view raises one on query parameters
  lists it itself;
- 429: a throttled view.

Every optional query parameter says `allowEmptyValue: true`: an empty value
is the parameter not given (filters, pagination and query serializers all
read it so), which a browser's filter form sends for a field left blank.

`StrictSerializerExtension` documents the strict input serializers
(`core.serializers.StrictSerializer`): their request schema says
`additionalProperties: false`, as the server refuses unknown fields; a text
field's `pattern` (no control characters, and not only whitespace where DRF
trims and refuses a blank); a list's `minItems`/`maxItems`.
`StatedFieldExtension` takes the schema a `core.serializers.StatedField`
states itself (decimals as strings or numbers, with places and bounds).

A status the view documents itself is left as it is. Error bodies are JSON
objects: `{"code", "detail", <field>: [messages]}` from domain errors, or
DRF's `{"detail"}` / `{<field>: [messages]}`.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from core.idempotency import HEADER
from core.parsers import SessionFormParser, SessionMultiPartParser
from core.text import ALLOWED_CHARACTER, TEXT_PATTERN

ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {},
    "description": "`code` and `detail`, or DRF's `detail`, or messages per field.",
}
_PAGE_PARAMS = {"cursor", "page"}
_WHY = {
    "400": "Invalid input (messages per field).",
    "401": "No valid credential.",
    "403": "Not allowed for this user.",
    "404": "No such object (or it is another user's).",
    "409": "The object's state forbids it.",
    "422": "Well formed, and refused by a business rule (`code` says which), "
    "e.g. the idempotency key used before with other parameters.",
    "429": "Throttled: retry after the `Retry-After` header's seconds.",
}


class ApiSchema(AutoSchema):
    def map_parsers(self) -> list[Any]:
        """JSON: the browsable API's form parsers take a session's HTML form
        only (`core.parsers`), which is no part of the API's contract."""
        session_only = (SessionFormParser, SessionMultiPartParser)
        return list(
            dict.fromkeys(p.media_type for p in self.view.get_parsers() if not isinstance(p, session_only))
        )

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        responses = operation.setdefault("responses", {})
        for code in self._error_statuses(operation):
            content: dict[str, Any] = {"application/json": {"schema": ERROR_BODY}}
            if code == "404" and "{" in self.path:
                content["text/html"] = {"schema": {"type": "string"}}
            responses.setdefault(code, {"description": _WHY[code], "content": content})
        return operation

    def _error_statuses(self, operation: dict[str, Any]) -> list[str]:
        codes = []
        parameters = operation.get("parameters", [])
        query = [p for p in parameters if p.get("in") == "query"]
        idempotent = any(p.get("in") == "header" and p.get("name") == HEADER for p in parameters)
        on_object = "{" in self.path
        if "requestBody" in operation or query or idempotent:
            codes.append("400")
        if any(not isinstance(p, AllowAny) for p in self.view.get_permissions()):
            codes += ["401", "403"]
        if on_object or any(p.get("name") in _PAGE_PARAMS for p in query):
            codes.append("404")
        if on_object and self.method not in ("GET", "HEAD", "OPTIONS"):
            codes.append("409")
        if idempotent or "requestBody" in operation:
            codes.append("422")
        if self.view.get_throttles():
            codes.append("429")
        return codes


# The characters a text takes (core/text.py), and the whitespace DRF's
# `CharField` trims (`str.strip`, less the control characters refused anyway).
_ALLOWED = ALLOWED_CHARACTER
_VISIBLE = "[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
NOT_BLANK_TEXT_PATTERN = f"^{_ALLOWED}*{_VISIBLE}{_ALLOWED}*$"


def text_pattern(field: serializers.CharField) -> str:
    """The pattern of what a strict serializer's text field takes."""
    trims_to_blank = field.trim_whitespace and not field.allow_blank
    return NOT_BLANK_TEXT_PATTERN if trims_to_blank else TEXT_PATTERN


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Registered on import (this module is the schema class's)."""

    target_class = "core.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction != "request":
            return schema
        if getattr(self.target, "refuse_unknown", True):
            schema["additionalProperties"] = False
        properties = schema.get("properties", {})
        for name, field in self.target.fields.items():
            prop = properties.get(name)
            if prop is None or field.read_only:
                continue
            if type(field) is serializers.CharField and "pattern" not in prop:
                prop["pattern"] = text_pattern(field)
            if isinstance(field, serializers.ListSerializer):
                # The stubs do not know ListSerializer's min_length/max_length.
                low, high = getattr(field, "min_length", None), getattr(field, "max_length", None)
                if low is not None:
                    prop["minItems"] = low
                if high is not None:
                    prop["maxItems"] = high
        return schema


class StatedFieldExtension(OpenApiSerializerFieldExtension):
    target_class = "core.serializers.StatedField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return self.target.openapi_schema()  # type: ignore[no-any-return]
