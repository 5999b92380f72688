"""Plain views of the ops app: `/healthz` for load balancers, `/metrics` for
Prometheus, and the staff health page.

- `/healthz` is public and says only up (200) or down (503): whether this
  process reaches PostgreSQL and Redis. No detail leaks to the internet.
- `/metrics` answers a staff session, or a scraper that sends
  `Authorization: Bearer <METRICS_TOKEN>` (only when `METRICS_TOKEN` is set).
  No client address is trusted: behind a proxy every request comes from the
  proxy, and X-Forwarded-For is whatever the client wrote.
- `/ops/health/` is the staff page; its ES module polls the JSON API.
"""

import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin, UserPassesTestMixin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from ops.metrics import metrics_exposition
from ops.selectors import liveness


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    up = liveness()
    return JsonResponse({"status": "up" if up else "down"}, status=200 if up else 503)


def _scrape_token_valid(request: HttpRequest) -> bool:
    """True for `Authorization: Bearer <METRICS_TOKEN>`; an empty setting turns
    token access off (an empty token must never match an empty header)."""
    expected = settings.METRICS_TOKEN
    if not expected:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    user = request.user
    is_staff = bool(user.is_authenticated and user.is_staff)
    if not (is_staff or _scrape_token_valid(request)):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    body, content_type = metrics_exposition()
    return HttpResponse(body, content_type=content_type)


class HealthPageView(LoginRequiredMixin, UserPassesTestMixin, TemplateView):
    """Staff only: a logged-in user who is not staff gets 403."""

    template_name = "ops/health.html"
    raise_exception = False

    def test_func(self) -> bool:
        return bool(self.request.user.is_staff)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["poll_seconds"] = settings.OPS_PAGE_POLL_SECONDS
        return context
