"""Maps the project's domain errors onto HTTP answers, so views stay thin.

Every app raises subclasses of `core.errors.DomainError`; this handler turns
them into `{"code": ..., "detail": ..., "field": ...}` with the status the
error declares. DRF's own errors keep their standard shape.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.errors import DomainError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"code": exc.code, "detail": exc.message}
        if exc.field:
            body = {exc.field: [exc.message], **body}
        return Response(body, status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        # Django would answer an empty HTML 400; an API client gets the reason.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"code": "request_too_large", "detail": f"The request body is over the limit of {limit} bytes."},
            status=413,
        )
    if isinstance(exc, Http404):
        # `get_object_or_404` says "No WithdrawalRequest matches the given
        # query.": a model's name, nothing a client can act on.
        return Response({"detail": "Not found."}, status=404)
    return drf_exception_handler(exc, context)
