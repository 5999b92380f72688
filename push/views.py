"""The installable app's files: the service worker, the web app manifest
and the offline page. They are served by Django, not as static files,
because each needs something a static file cannot have: the worker must be
at the site root (its scope is `/`) with `Service-Worker-Allowed: /` and
must carry the deploy's version; the manifest names static URLs that are
hashed in production; the offline page is precached by the worker."""

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from push.appversion import app_version

THEME_COLOR = "#0f1419"  # --bg of frontend/css/base.css: the site has one (dark) theme
ICON_SIZES = (192, 512)


def _precache() -> list[str]:
    return [
        reverse("push-offline"),
        static("frontend/css/base.css"),
        static("push/js/offline.js"),
        *(static(f"push/icons/icon-{size}.png") for size in ICON_SIZES),
    ]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    config = {
        "version": app_version(),
        "precache": _precache(),
        "offline": reverse("push-offline"),
        "icon": static("push/icons/icon-192.png"),
    }
    template = (settings.BASE_DIR / "push" / "templates" / "push" / "sw.js").read_text()
    body = f"const CONFIG = {json.dumps(config)};\n{template}"
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # Scope `/` although it could be served from anywhere: stated explicitly.
    response["Service-Worker-Allowed"] = "/"
    # Browsers check for a new worker on every navigation; an HTTP cache in
    # between must not hand them yesterday's (that is how a deploy is seen).
    add_never_cache_headers(response)
    return response


@require_GET
def manifest(request: HttpRequest) -> JsonResponse:
    data: dict[str, Any] = {
        "id": "/",
        "name": "TradeVision",
        "short_name": "TradeVision",
        "description": "Paper trading with live prices.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "background_color": THEME_COLOR,
        "theme_color": THEME_COLOR,
        "icons": [
            {"src": static(f"push/icons/icon-{size}.png"), "sizes": f"{size}x{size}", "type": "image/png"}
            for size in ICON_SIZES
        ]
        + [
            {
                "src": static("push/icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            }
        ],
    }
    response = JsonResponse(data, content_type="application/manifest+json")
    patch_cache_control(response, public=True, max_age=3600)
    return response


class OfflineView(TemplateView):
    """A shell with no user data (the worker caches it): its script fills in
    the last balances and open trades the worker saved on this device."""

    template_name = "push/offline.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["theme_color"] = THEME_COLOR
        return context
