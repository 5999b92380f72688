"""`/healthz` answered before host validation and the HTTPS redirect.

Load balancers and container engines probe each web process directly, by
its address: the Host they send is that address or whatever they were
configured with, not necessarily one of `ALLOWED_HOSTS`, and the probe is
plain HTTP even where `SECURE_SSL_REDIRECT` sends every browser to https.
Through the whole middleware stack such a probe got a 400 (DisallowedHost,
raised by CommonMiddleware's `get_host()`) or a 301, and the balancer marked
a healthy process down. The answer says only up or down (ops/views.py), so
nothing depends on the host it was asked under.

Placed after the latency and request-id middleware (the probe is still
timed under its route and carries an `X-Request-ID`), before
SecurityMiddleware.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import ResolverMatch, resolve

from ops.views import healthz

PATH = "/healthz"


class HealthzMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.match: ResolverMatch | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != PATH:
            return self.get_response(request)
        if self.match is None:
            self.match = resolve(PATH)
        request.resolver_match = self.match
        return healthz(request)
