"""Django's error handlers (config.urls handler400/403/404/500), the CSRF
failure view (`CSRF_FAILURE_VIEW`) and the 405 of Django's own views
(frontend.middleware.ApiMethodNotAllowedMiddleware).

Under `/api/` the answer is JSON in the shape of the API's own errors
(core.exceptions: `{"code", "detail"}`), since an API client cannot read
a page; elsewhere a page in the site's look. Both show the request id
(ops.requestid), which the log line of a 500 carries too.

The page does not extend base.html: its template tags read the database,
and a 500 may be the database failing. Nothing here may raise.
"""

from dataclasses import dataclass, replace

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
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
CSRF_FAILED = ErrorKind(
    403,
    "csrf_failed",
    "The form has expired",
    "The form was sent without a valid security token (it was open too long, or cookies are off). "
    "Go back, reload the page and send it again.",
)
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


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """`CSRF_FAILURE_VIEW`: instead of Django's stock page, the site's 403
    page, or JSON under /api/ whose detail says why (as DRF's "CSRF Failed:
    ..." does for its own views)."""
    kind = CSRF_FAILED
    if request.path.startswith(API_PREFIX) and reason:
        kind = replace(kind, detail=f"CSRF verification failed: {reason}")
    return error_response(request, kind)


def method_not_allowed(request: HttpRequest, allowed: HttpResponseNotAllowed) -> HttpResponse:
    """Django's `HttpResponseNotAllowed` (an empty text/html body) as the API's
    JSON 405, in DRF's words, keeping the `Allow` header."""
    detail = f'Method "{request.method}" not allowed.'
    kind = ErrorKind(405, "method_not_allowed", "Method not allowed", detail)
    response = error_response(request, kind)
    response["Allow"] = allowed["Allow"]
    return response
