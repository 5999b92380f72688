"""`GET /api/v1/`: the API's front door, for people in the browsable API and
for clients that follow links.

The resource links are read from the URL conf (every named route of
`config.urls.api_v1` that takes no path parameter), so a new or renamed
endpoint shows up here without anyone remembering to add it.
"""

from collections.abc import Iterable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, URLPattern, URLResolver, reverse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

ROOT_NAME = "api-root"
DOCUMENTATION = {
    "schema": "schema",
    "swagger_ui": "api-docs",
    "redoc": "api-redoc",
    "asyncapi": "realtime-asyncapi",
}


def _route_names(patterns: Iterable[URLPattern | URLResolver]) -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _route_names(pattern.url_patterns)
        elif pattern.name:
            yield pattern.name


def resource_names() -> list[str]:
    """Named API routes without path parameters, docs and the root left out."""
    from config.urls import api_v1  # the URL conf imports this module

    skip = {ROOT_NAME, *DOCUMENTATION.values()}
    names = []
    for name in dict.fromkeys(_route_names(api_v1)):
        if name in skip:
            continue
        try:
            reverse(name)
        except NoReverseMatch:  # needs a pk or a symbol: reached from a list
            continue
        names.append(name)
    return names


class ApiRoot(APIView):
    """Links to every resource list and action of the API, the OpenAPI schema,
    Swagger UI, ReDoc and the AsyncAPI document of the event stream."""

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        def link(name: str) -> str:
            return request.build_absolute_uri(reverse(name))

        body: dict[str, Any] = {
            "resources": {name: link(name) for name in sorted(resource_names(), key=reverse)},
            "documentation": {key: link(name) for key, name in DOCUMENTATION.items()},
        }
        return Response(body)


# ReDoc's bundle shows the Redocly logo from that company's CDN
# unconditionally; this page's own policy keeps the browser from fetching it
# (and anything else from another host). Styles inline: ReDoc injects them.
# Workers from blob: URLs: its search index runs in one.
REDOC_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


class PageOptions(APIView):
    """OPTIONS of a docs page: 200, `Allow`, no body. DRF answers OPTIONS with
    the view's metadata through the view's renderer, and these pages' only
    renderer is their template: Swagger UI's includes a template named in the
    context only `get()` provides, so its OPTIONS was a 500
    (`TemplateDoesNotExist`); ReDoc's rendered the metadata as a broken page."""

    allowed_methods: list[str]

    # A plain HttpResponse, not DRF's Response: that one goes through the
    # page renderer, the failure this avoids (hence the narrower override).
    @extend_schema(exclude=True)
    def options(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        return HttpResponse(headers={"Allow": ", ".join(self.allowed_methods)})


class SwaggerView(PageOptions, SpectacularSwaggerView):
    pass


class RedocView(PageOptions, SpectacularRedocView):
    template_name = "frontend/api/redoc.html"

    @extend_schema(exclude=True)  # as drf-spectacular's own docs views
    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = REDOC_POLICY
        return response
