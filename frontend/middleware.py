"""Content-Security-Policy for the project's pages; the admin's guard of
its query parameters; the API's 405 of plain Django views as JSON (the last
two at the end of this module).

Content-Security-Policy:

Django 5.2 has no built-in CSP, so this small middleware sets the header.
The policy allows only same-origin scripts, styles, images and connections
(plus the WebSocket to this same host, named exactly: older browsers do not
count ws: as 'self'), and no framing. The service worker and the web app
manifest are same-origin only (worker-src, manifest-src), stated although
default-src covers them, so loosening default-src never loosens those. Our templates contain no inline script
or style: every behaviour lives in ES modules under `frontend/static/`.

The Django admin and the DRF browsable API / OpenAPI docs pages are
third-party templates that use inline scripts and styles (the docs pages load
their UI from the drf-spectacular-sidecar package's static files), so the
policy is not applied under the prefixes in
`CSP_EXEMPT_PATH_PREFIXES`; those pages are staff or API tooling, and keep
Django's other protections (X-Frame-Options, CSRF). See docs/frontend.md.
"""

from collections.abc import Callable
from dataclasses import replace

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse

from core.serializers import has_control_characters
from frontend.errors import API_PREFIX, BAD_REQUEST, error_response, method_not_allowed

DEFAULT_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "connect-src 'self' ws://{host} wss://{host}; img-src 'self' data:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'; worker-src 'self'; manifest-src 'self'"
)
DEFAULT_EXEMPT_PREFIXES = ("/admin/", "/api/v1/", "/api-auth/")
ADMIN_QUERY_REFUSED = replace(BAD_REQUEST, detail="A query parameter contains a control character.")


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy: str = getattr(settings, "CSP_POLICY", DEFAULT_POLICY)
        self.exempt: tuple[str, ...] = tuple(
            getattr(settings, "CSP_EXEMPT_PATH_PREFIXES", DEFAULT_EXEMPT_PREFIXES)
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith(self.exempt) and "Content-Security-Policy" not in response:
            # get_host() was validated against ALLOWED_HOSTS when the view ran.
            response["Content-Security-Policy"] = self.policy.replace("{host}", request.get_host())
        return response


class AdminQueryGuardMiddleware:
    """A query parameter (name or value) with a control character under the
    admin is the site's 400 page, before any admin view runs.

    PostgreSQL text cannot hold NUL, and the admin passes its changelist
    filters (`status__exact=%00`), `_changelist_filters`, autocomplete terms
    and the like straight into queries: a DataError, a 500. Django's own
    search form refuses NUL in `q` only. One rule for every parameter of
    every admin view, ours and Django's, is the same the API's serializers
    and the page forms apply to text (`core.serializers.has_control_characters`:
    control characters but tab, newline and carriage return)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.prefix: str | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        if request.path.startswith(self.prefix) and any(
            has_control_characters(name) or any(has_control_characters(v) for v in values)
            for name, values in request.GET.lists()
        ):
            return error_response(request, ADMIN_QUERY_REFUSED)
        return self.get_response(request)


class ApiMethodNotAllowedMiddleware:
    """Under /api/ the 405 of a plain Django view (`require_GET`, a class-based
    `View`) is JSON, with its `Allow`, as DRF's views answer; elsewhere it
    stays Django's."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and request.path.startswith(API_PREFIX):
            return method_not_allowed(request, response)
        return response
