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
  Django's HTML 404 page before any view runs), or with a page cursor (an
  invalid cursor is "not found", as DRF's cursor pagination answers);
- 409: a write on an existing object whose state forbids it (closing a
  settled trade, approving a decided withdrawal);
- 422: an operation taking an `Idempotency-Key`: the key was used before
  with other parameters, or the wallet cannot pay (`insufficient_funds`);
- 429: a throttled view.

`StrictSerializerExtension` documents the strict input serializers
(`core.serializers.StrictSerializer`): their request schema says
`additionalProperties: false`, as the server refuses unknown fields.

A status the view documents itself is left as it is. Error bodies are JSON
objects: `{"code", "detail", <field>: [messages]}` from domain errors, or
DRF's `{"detail"}` / `{<field>: [messages]}`.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from core.idempotency import HEADER

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
    "422": (
        "The idempotency key was used with other parameters, or the wallet cannot pay (`insufficient_funds`)."
    ),
    "429": "Throttled: retry after the `Retry-After` header's seconds.",
}


class ApiSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
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
        if idempotent:
            codes.append("422")
        if self.view.get_throttles():
            codes.append("429")
        return codes


class StrictSerializerExtension(OpenApiSerializerExtension):
    """Registered on import (this module is the schema class's)."""

    target_class = "core.serializers.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema: dict[str, Any] = auto_schema._map_basic_serializer(self.target, direction)
        if direction == "request" and getattr(self.target, "refuse_unknown", True):
            schema["additionalProperties"] = False
        return schema
