"""A request id on every response and on every log line written for it.

`RequestIdMiddleware` takes the caller's `X-Request-ID` only when it matches
`REQUEST_ID`, so a client cannot inject newlines, markup or megabytes into
the logs and pages, and otherwise makes one. The id is on the request
(`request.request_id`, shown by the error pages in frontend.errors), in
the `X-Request-ID` response header, and in a context variable that
`RequestContextFilter` (installed on the log handlers by config.logging)
copies onto each record: so the 500 a user reports can be found in the log
by the id on their page.
"""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
# Letters, digits and - _ . : up to 64: what proxies and tracing systems use
# (a UUID, a hex trace id), and nothing that can break a log line or a page.
REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")
NO_REQUEST = "-"

current_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def request_id_for(incoming: str | None) -> str:
    if incoming and REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_for(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            current_request_id.reset(token)
        response[HEADER] = request_id
        return response


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            # django.request's lines carry the request itself: under ASGI
            # Django logs a 4xx/5xx response after the middleware chain has
            # returned, outside the context variable's scope.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or current_request_id.get()
        return True
