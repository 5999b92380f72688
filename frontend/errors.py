"""Django's error handlers (config.urls handler400/403/404/500).

Under `/api/` the answer is JSON in the shape of the API's own errors
(core.exceptions: `{"code", "detail"}`), since an API client cannot read
a page; elsewhere a page in the site's look. Both show the request id
(ops.requestid), which the log line of a 500 carries too.

The page does not extend base.html: its template tags read the database,
and a 500 may be the database failing. Nothing here may raise.
"""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

API_PREFIX = "/api/"


@dataclass(frozen=True)
class ErrorKind:
    status: int
    code: str
    title: str
    detail: str


BAD_REQUEST = ErrorKind(400, "bad_request", "Bad request", "The request could not be understood.")
FORBIDDEN = ErrorKind(403, "permission_denied", "Not allowed", "You do not have permission to do this.")
NOT_FOUND = ErrorKind(404, "not_found", "Page not found", "There is nothing at this address.")
SERVER_ERROR = ErrorKind(
    500,
    "server_error",
    "Something went wrong",
    "The error has been logged. If you report it, quote the request id.",
)


def error_response(request: HttpRequest, kind: ErrorKind) -> HttpResponse:
    request_id = getattr(request, "request_id", "")
    if request.path.startswith(API_PREFIX):
        body = {"code": kind.code, "detail": kind.detail, "request_id": request_id}
        return JsonResponse(body, status=kind.status)
    # No RequestContext: the context processors touch the session and user.
    html = render_to_string("frontend/errors/error.html", {"error": kind, "request_id": request_id})
    return HttpResponse(html, status=kind.status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(request, BAD_REQUEST)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(request, FORBIDDEN)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    return error_response(request, NOT_FOUND)


def server_error(request: HttpRequest) -> HttpResponse:
    return error_response(request, SERVER_ERROR)
