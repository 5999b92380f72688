"""Top-level routes: pages, the versioned API, schema and docs, admin."""

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

from config.api_root import ROOT_NAME, ApiRoot, RedocView, SwaggerView

api_v1: list[URLPattern | URLResolver] = [
    path("", ApiRoot.as_view(), name=ROOT_NAME),
    path("", include("accounts.api_urls")),
    path("", include("wallets.api_urls")),
    path("", include("market.api_urls")),
    path("", include("trading.api_urls")),
    path("", include("realtime.api_urls")),
    path("", include("ops.api_urls")),
    path("", include("push.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # OPTIONS answered without the page's template (config/api_root.py).
    path("docs/", SwaggerView.as_view(url_name="schema"), name="api-docs"),
    # Our template (drf-spectacular's loads web fonts from another host) and
    # a policy that keeps ReDoc's logo from being fetched from its CDN.
    path("redoc/", RedocView.as_view(url_name="schema"), name="api-redoc"),
]

# Pages in the site's look, JSON under /api/, both with the request id.
handler400 = "frontend.errors.bad_request"
handler403 = "frontend.errors.permission_denied"
handler404 = "frontend.errors.page_not_found"
handler500 = "frontend.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api-auth/", include("rest_framework.urls")),
    path("", include("accounts.urls")),
    path("", include("trading.urls")),
    path("", include("ops.urls")),
    path("", include("push.urls")),
    path("", include("frontend.urls")),
]
